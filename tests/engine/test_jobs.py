"""Background jobs on the in-process backend (the embedded default): the row is written before the job is queued,
progress is visible while it runs, a job runs once however often it is delivered, failures are recorded and can
be retried, and jobs a stopped process left unfinished run again when `webir run` starts."""

from __future__ import annotations

import datetime as dt
import threading

import job_kinds_for_tests  # noqa: F401  (the test_wait_for_file kind)
import pytest
from sqlalchemy import select
from timer_models import wait_then_task

from engine import jobs
from engine.models import AuditEvent, BackgroundJob, JobStatus


@pytest.fixture
def queue(db):
    q = jobs.JobQueue(db)
    yield q
    q.close()


def _actions(db, job_id: int) -> list[str]:
    with db.sessions() as session:
        return [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
                if (e.detail or {}).get("job") == job_id]


def _touch(path, text: str) -> None:
    """Create the file with its content at once (the job reads it as soon as it exists)."""
    part = path.with_suffix(".part")
    part.write_text(text)
    part.rename(path)


def _wait_until(predicate, seconds: float = 20.0) -> None:
    deadline = threading.Event()
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        deadline.wait(0.05)
    raise AssertionError("condition not reached in time")


def test_a_job_is_on_record_before_it_runs_shows_progress_and_ends_with_its_result(db, queue, tmp_path):
    flag = tmp_path / "go"
    job_id = queue.submit("test_wait_for_file", {"file": str(flag)}, created_by="dsw.admin")
    view = jobs.get(db, job_id)
    assert view.status in ("queued", "running") and view.created_by == "dsw.admin"
    _wait_until(lambda: jobs.get(db, job_id).progress_done > 0)  # progress visible while it runs
    running = jobs.get(db, job_id)
    assert running.status == "running" and running.progress_total == 1000 and 0 < running.fraction < 1
    assert queue.wait(job_id, timeout=0.2) is None  # still running: the waiter gives up, the job goes on
    _touch(flag, "done")
    finished = queue.wait(job_id, timeout=20)
    assert finished.status == "succeeded" and finished.result["content"] == "done" and finished.fraction == 1.0
    assert finished.attempts == 1 and finished.finished_at >= finished.started_at
    assert _actions(db, job_id) == ["job_queued", "job_finished"]


def test_a_job_delivered_twice_runs_once(db, queue, tmp_path):
    flag = tmp_path / "go"
    _touch(flag, "x")
    job_id = queue.submit("test_wait_for_file", {"file": str(flag)})
    assert queue.wait(job_id, 20).status == "succeeded"
    assert jobs.run_job(db, job_id) is False  # a second delivery finds it done
    assert jobs.get(db, job_id).attempts == 1


def test_a_failed_job_records_why_and_can_be_retried(db, queue, tmp_path):
    flag = tmp_path / "go"
    job_id = queue.submit("test_wait_for_file", {"file": str(flag), "timeout": 0.2})
    failed = queue.wait(job_id, 20)
    assert failed.status == "failed" and failed.error_code == "timeout" and failed.result == {"http_status": 408}
    crash = queue.submit("test_wait_for_file", {"file": str(flag), "timeout": 5, "fail": True})
    _touch(flag, "now")
    crashed = queue.wait(crash, 20)
    assert crashed.status == "failed" and crashed.error_code == "error" and "asked to fail" in crashed.error
    assert queue.retry(job_id, actor="dsw.admin") is True
    again = queue.wait(job_id, 20)
    assert again.status == "succeeded" and again.attempts == 2 and again.result["content"] == "now"
    assert queue.retry(job_id) is False  # a succeeded job is not run again
    assert _actions(db, job_id) == ["job_queued", "job_finished", "job_requeued", "job_finished"]


def test_unknown_job_kinds_are_refused_before_anything_is_written(db, queue):
    with pytest.raises(jobs.UnknownJob, match="no_such_kind"):
        queue.submit("no_such_kind", {})
    with db.sessions() as session:
        assert session.scalars(select(BackgroundJob)).all() == []


def test_jobs_a_stopped_process_left_unfinished_run_again_at_start(db, queue, tmp_path):
    """`webir run` died with one job running and one still queued in its memory: at the next start both run."""
    flag = tmp_path / "go"
    _touch(flag, "restarted")
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    with db.transaction() as session:
        running = BackgroundJob(kind="test_wait_for_file", params={"file": str(flag)}, status=JobStatus.RUNNING,
                                attempts=1, started_at=old, heartbeat_at=old, worker="gone:1:1", created_at=old)
        queued = BackgroundJob(kind="test_wait_for_file", params={"file": str(flag)}, status=JobStatus.QUEUED,
                               heartbeat_at=old, created_at=old)
        session.add_all([running, queued])
        session.flush()
        ids = [running.id, queued.id]
    assert sorted(queue.requeue_stale(0)) == ids
    for job_id in ids:
        view = queue.wait(job_id, 20)
        assert view.status == "succeeded" and view.result["content"] == "restarted"
    assert jobs.get(db, ids[0]).attempts == 2
    assert queue.requeue_stale(0) == []


def test_a_job_whose_broker_was_down_at_submit_stays_on_record_and_runs_later(db, queue, tmp_path):
    flag = tmp_path / "go"
    _touch(flag, "later")
    down = jobs.JobQueue(db, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    down.backend.app.conf.broker_connection_max_retries = 0
    down.backend.app.conf.broker_transport_options = {"max_retries": 0}
    with pytest.raises(Exception):  # noqa: B017  (kombu's connection error, whatever its class)
        down.submit("test_wait_for_file", {"file": str(flag)})
    with db.sessions() as session:
        row = session.scalars(select(BackgroundJob)).one()
        assert (row.status, row.error_code) == (JobStatus.QUEUED, jobs.NOT_QUEUED)
    assert queue.requeue_stale() == [row.id]  # the next sweep (here: in-process) queues it again
    view = queue.wait(row.id, 20)
    assert view.status == "succeeded" and view.result["content"] == "later"


def test_a_backlog_of_due_timers_is_fired_by_job_workers_in_batches_each_once(org_db, users, queue, sim_clock):
    from engine import runtime
    from engine.bundle import ModelFile
    from engine.scheduler import Scheduler
    from workflows import bundled

    start = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
    sim_clock.set(start)
    with org_db.transaction() as session:
        bundled.deploy_files(session, [ModelFile("wait.bpmn", wait_then_task())], "t", "t")
    ids = [runtime.start_instance(org_db, "wait_then_task", users["dsw.staff"]) for _ in range(5)]
    sim_clock.set(start + dt.timedelta(days=1))  # the scheduler was down: five timers overdue
    scheduler = Scheduler(org_db, job_queue=queue, burst=2)
    scheduler.sweep()
    batches = list(scheduler.burst_jobs)
    assert len(batches) == 3  # 2 + 2 + 1 instances
    for job_id in batches:
        assert queue.wait(job_id, 30).status == "succeeded"
    assert sum(jobs.get(org_db, j).result["fired"] for j in batches) == 5
    scheduler.sweep()  # nothing left: no new jobs, and a second firing of a batch fires nothing
    assert scheduler.burst_jobs == [] and jobs.run_job(org_db, batches[0]) is False
    with org_db.sessions() as session:
        fired = session.scalars(select(AuditEvent.instance_id).where(AuditEvent.action == "timer_fired")).all()
    assert sorted(fired) == sorted(ids)


def test_webir_jobs_requeue_runs_jobs_the_broker_never_took_and_webir_worker_needs_a_broker(db, tmp_path,
                                                                                           monkeypatch):
    from click.testing import CliRunner

    from web.cli import main

    flag = tmp_path / "go"
    _touch(flag, "by hand")
    with db.transaction() as session:
        row = BackgroundJob(kind="test_wait_for_file", params={"file": str(flag)}, status=JobStatus.QUEUED,
                            error_code=jobs.NOT_QUEUED, heartbeat_at=dt.datetime.now(dt.UTC))
        session.add(row)
        session.flush()
        job_id = row.id
    monkeypatch.setenv("WEBIR_DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("WEBIR_JOB_BROKER", raising=False)
    done = CliRunner().invoke(main, ["jobs", "requeue"], catch_exceptions=False)
    assert done.exit_code == 0 and done.output.strip() == f"queued again: 1 job(s) {job_id}"
    view = jobs.get(db, job_id)  # the command waits for the in-process job before it exits
    assert view.status == "succeeded" and view.result["content"] == "by hand"
    refused = CliRunner().invoke(main, ["worker"])
    assert refused.exit_code == 1 and "WEBIR_JOB_BROKER is not set" in refused.output
