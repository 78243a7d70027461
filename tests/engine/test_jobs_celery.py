"""Background jobs through the real broker: Redis at 127.0.0.1:6379 and real `webir worker` processes (Celery).

A job submitted while no worker runs waits in the queue (its row is in the database first) and runs when a worker
starts; the regulation's jobs (a query-log import, a reconciliation) give the same results as in-process; a worker
killed in the middle of a job leaves it to be run again by the next worker (PostgreSQL: heartbeats)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import job_kinds_for_tests  # noqa: F401  (the test_wait_for_file kind, here and in the workers)
import pytest
from sqlalchemy import select

from engine import jobs
from engine.models import Agency, AuditEvent
from workflows import demo
from workflows.record_jobs import import_params, reconcile_params

REDIS_URL = os.environ.get("WEBIR_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
REPO = Path(__file__).resolve().parents[2]
LOG = ("查詢時間,查詢者帳號,被查詢人身分證號,查詢項目,案件編號\n"
       "113/06/05 10:00:00,dsw.user,A1,投保資料,C1\n"
       "113/06/05 21:00:00,dsw.user,A2,投保資料,C2\n")


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")


class Workers:
    """Start and kill `webir worker` processes (each in its own process group) on one private queue."""

    def __init__(self, db, tmp_path: Path):
        self.db, self.tmp = db, tmp_path
        self.queue_name = f"webir-test-{uuid.uuid4().hex[:12]}"
        self.env = {**os.environ, "WEBIR_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
                    "WEBIR_JOB_BROKER": REDIS_URL, "WEBIR_JOB_QUEUE": self.queue_name,
                    "WEBIR_INSTANCE_PATH": str(tmp_path / "instance"), "WEBIR_JOB_HEARTBEAT_SECONDS": "0.3",
                    "WEBIR_JOB_STALE_SECONDS": "2", "WEBIR_JOB_SWEEP_SECONDS": "0.5",
                    "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)])}
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = open(self.tmp / f"worker-{len(self.processes)}.log", "w")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("webir")), "worker", "--concurrency", "2", "--include",
             "job_kinds_for_tests"], env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.kill(process)
        import redis

        redis.Redis.from_url(REDIS_URL).delete(self.queue_name)

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.tmp.glob("worker-*.log")))


@pytest.fixture
def workers(db, tmp_path):
    _redis_or_skip()
    started = Workers(db, tmp_path)
    yield started
    started.stop_all()


@pytest.fixture
def celery_queue(db, workers):
    queue = jobs.JobQueue(db, REDIS_URL, workers.queue_name)
    yield queue
    queue.close()


def _wait(queue, job_id, workers, seconds=60):
    view = queue.wait(job_id, seconds)
    assert view is not None and view.finished, workers.logs()
    return view


def test_jobs_wait_in_the_queue_for_a_worker_and_give_the_in_process_results(db, workers, celery_queue, tmp_path):
    with db.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
        dsw = session.scalar(select(Agency.id).where(Agency.code == "DSW"))
    upload = tmp_path / "upload.csv"
    upload.write_text(LOG, encoding="utf-8-sig")
    imported = celery_queue.submit("import_query_log", import_params(upload, "DSW", tmp_path / "instance", "log.csv",
                                                                     "dsw.admin", remove_after=True),
                                   agency_id=dsw, created_by="dsw.admin")
    reconciled = celery_queue.submit("reconcile", reconcile_params("DSW", "2024-06", dt.timedelta(days=1), False,
                                                                   "dsw.admin"), agency_id=dsw)
    time.sleep(1.0)
    assert [jobs.get(db, i).status for i in (imported, reconciled)] == ["queued", "queued"]  # no worker yet
    workers.start()
    first = _wait(celery_queue, imported, workers)
    assert first.status == "succeeded", first.error
    assert first.result["imported"] == 2 and first.result["duplicates"] == 0 and not upload.exists()
    second = _wait(celery_queue, reconciled, workers)
    assert second.status == "succeeded", second.error
    # the job ran after the import (one worker thread took the queue in order, or the import committed first)
    assert second.result["log_records"] in (0, 2) and second.result["agency"] == "DSW"
    again = celery_queue.submit("reconcile", reconcile_params("DSW", "2024-06", dt.timedelta(days=1), False, None))
    result = _wait(celery_queue, again, workers).result
    assert result["log_records"] == 2 and result["counts"]["logged_not_registered"] == 2


def test_a_refused_file_fails_the_job_with_the_reason_on_the_worker(db, workers, celery_queue, tmp_path):
    with db.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
    upload = tmp_path / "bad.csv"
    upload.write_text("who,what\nx,y\n")
    job_id = celery_queue.submit("import_query_log", import_params(upload, "DSW", tmp_path / "instance", "bad.csv",
                                                                   None, remove_after=True))
    workers.start()
    view = _wait(celery_queue, job_id, workers)
    assert view.status == "failed" and view.error_code == "file_refused" and view.result == {"http_status": 422}


def test_a_worker_killed_mid_job_leaves_it_to_the_next_worker(db, workers, celery_queue, tmp_path):
    if db.is_sqlite:
        pytest.skip("taking over a running job needs heartbeats, which SQLite cannot write during a long import "
                    "(Celery workers are the PostgreSQL production mode)")
    flag = tmp_path / "go"
    first = workers.start()
    job_id = celery_queue.submit("test_wait_for_file", {"file": str(flag), "timeout": 120})
    deadline = time.monotonic() + 60
    while jobs.get(db, job_id).progress_done < 3:  # running on the worker, its progress on the row
        assert time.monotonic() < deadline, workers.logs()
        time.sleep(0.1)
    assert jobs.get(db, job_id).status == "running"
    workers.kill(first)  # SIGKILL: no chance to finish, acknowledge or clean up
    time.sleep(0.5)
    assert jobs.get(db, job_id).status == "running"  # what the dead worker left
    part = flag.with_suffix(".part")
    part.write_text("second worker")
    part.rename(flag)
    workers.start()
    view = _wait(celery_queue, job_id, workers, 90)
    assert view.status == "succeeded" and view.attempts == 2 and view.result["content"] == "second worker"
    with db.sessions() as session:
        reasons = [e.detail.get("reason") for e in session.scalars(select(AuditEvent).where(
            AuditEvent.action == "job_requeued"))]
    assert reasons == ["worker stopped"]
