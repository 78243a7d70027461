"""Background jobs: long work (file imports, reconciliations, timer bursts) off the request path.

One small module, two backends behind one `JobQueue`:
- in-process (no broker; `webir run`, tests): a thread pool in the calling process;
- Celery (`WEBIR_JOB_BROKER=redis://...`): the job id goes to a Redis queue, `webir worker` processes run it.

No job is lost: its row (kind, JSON params, who asked) is committed BEFORE the id is queued, a worker claims it
with one conditional UPDATE (so a duplicate delivery runs nothing), and a running job renews a heartbeat; a job
whose worker died (no heartbeat for `stale_seconds`) is put back in the queue by `requeue_stale` (run by every
`webir worker` and at `webir run` start), up to MAX_ATTEMPTS, or by hand (`retry`). Handlers are registered by
the regulation code (`@handler("kind")`) and must be safe to run again (the imports and the reconciliation each
run in one transaction: a dead worker leaves nothing half-written). Progress (done / total) is on the row.
Job times are real UTC times (like the scheduler lease), not the simulated clock.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from sqlalchemy import and_, false, or_, select, update

from engine import audit
from engine.db import Database
from engine.models import BackgroundJob, JobStatus

log = logging.getLogger(__name__)
Progress = Callable[[int, int | None], None]
Handler = Callable[[Database, dict, Progress], dict]
HANDLERS: dict[str, Handler] = {}
# Seconds between heartbeats, and without one before a running job counts as abandoned (settable for tests).
HEARTBEAT_SECONDS = float(os.environ.get("WEBIR_JOB_HEARTBEAT_SECONDS") or 5)
STALE_SECONDS = float(os.environ.get("WEBIR_JOB_STALE_SECONDS") or 60)
MAX_ATTEMPTS = 3
PROGRESS_EVERY = 0.5  # seconds between progress writes
DEFAULT_QUEUE = "webir-jobs"
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)
NOT_QUEUED = "not_queued"  # error_code of a queued job whose id the broker never took


class JobRefused(Exception):
    """The job's input is wrong (a refused file, a bad period): it fails with this code and message, not retried
    automatically. `status` is the HTTP status an API answer should carry."""

    def __init__(self, code: str, message: str, status: int = 422):
        super().__init__(message)
        self.code, self.status = code, status


class UnknownJob(ValueError):
    """No handler is registered under this kind."""


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register `func(db, params, progress) -> result dict` as the job kind `kind`."""

    def register(func: Handler) -> Handler:
        HANDLERS[kind] = func
        return func

    return register


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class JobView:
    """A job as callers see it (detached from any session)."""

    id: int
    kind: str
    status: str
    agency_id: int | None
    created_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    attempts: int
    progress_done: int
    progress_total: int | None
    result: dict | None
    error_code: str | None
    error: str | None
    params: dict

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def fraction(self) -> float | None:
        """0..1 when the total is known; 1 once succeeded."""
        if self.status == JobStatus.SUCCEEDED:
            return 1.0
        if not self.progress_total:
            return None
        return min(1.0, self.progress_done / self.progress_total)

    @classmethod
    def of(cls, row: BackgroundJob) -> JobView:
        return cls(row.id, row.kind, row.status.value, row.agency_id, row.created_by, row.created_at, row.started_at,
                   row.finished_at, row.heartbeat_at, row.attempts, row.progress_done, row.progress_total,
                   row.result, row.error_code, row.error, dict(row.params or {}))


# Progress of the jobs running in this process, newer than their row when the row cannot be written (SQLite: the
# import's transaction holds the database's one write lock until it commits).
_LIVE: dict[int, tuple[int, int | None]] = {}


def get(db: Database, job_id: int) -> JobView | None:
    with db.sessions() as session:
        row = session.get(BackgroundJob, job_id)
        view = JobView.of(row) if row else None
    live = _LIVE.get(job_id)
    if view is not None and live is not None and view.status == JobStatus.RUNNING:
        view = replace(view, progress_done=live[0], progress_total=live[1] or view.progress_total)
    return view


def _abandoned(db: Database, cutoff: dt.datetime):
    """A running job whose worker stopped renewing its heartbeat before `cutoff` (never on SQLite, where a running
    import cannot renew it: see requeue_stale)."""
    if db.is_sqlite:
        return false()
    return and_(BackgroundJob.status == JobStatus.RUNNING, BackgroundJob.heartbeat_at < cutoff)


def run_job(db: Database, job_id: int, worker: str | None = None) -> bool:
    """Claim the job and run it to its end; False when it is not claimable (finished, or running elsewhere)."""
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    now = _now()
    with db.transaction() as session:
        claimed = session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id, or_(BackgroundJob.status == JobStatus.QUEUED,
                                                   _abandoned(db, now - dt.timedelta(seconds=STALE_SECONDS))))
            .values(status=JobStatus.RUNNING, attempts=BackgroundJob.attempts + 1, started_at=now, heartbeat_at=now,
                    worker=worker, error=None, error_code=None)
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            return False
        row = session.get(BackgroundJob, job_id)
        kind, params = row.kind, dict(row.params or {})
    beat = _Heartbeat(db, job_id, worker)
    beat.start()
    try:
        func = HANDLERS.get(kind)
        if func is None:
            raise JobRefused("unknown_job", f"no handler for job kind '{kind}' in this worker")
        result = func(db, params, beat.progress)
    except JobRefused as exc:
        _finish(db, job_id, worker, JobStatus.FAILED, error_code=exc.code, error=str(exc), status_code=exc.status)
    except Exception as exc:  # the job failed: recorded on its row (retryable), the worker goes on
        log.exception("job %s (%s) failed", job_id, kind)
        _finish(db, job_id, worker, JobStatus.FAILED, error_code="error", error=f"{type(exc).__name__}: {exc}")
    else:
        _finish(db, job_id, worker, JobStatus.SUCCEEDED, result=result)
    finally:
        beat.stop()
    return True


def _finish(db: Database, job_id: int, worker: str, status: JobStatus, result: dict | None = None,
            error_code: str | None = None, error: str | None = None, status_code: int | None = None) -> None:
    """Record the end, only if this worker still holds the job (one presumed dead and taken over does not)."""
    with db.transaction() as session:
        row = session.get(BackgroundJob, job_id, with_for_update=True)
        if row is None or row.worker != worker or row.status != JobStatus.RUNNING:
            return
        row.status, row.finished_at, row.heartbeat_at = status, _now(), _now()
        row.result = result if result is not None else ({"http_status": status_code} if status_code else None)
        row.error_code, row.error = error_code, (error or "")[:4000] or None
        if status == JobStatus.SUCCEEDED and row.progress_total:
            row.progress_done = row.progress_total
        audit.record(session, "job_finished", row.created_by, before=JobStatus.RUNNING.value, after=status.value,
                     job=job_id, kind=row.kind, attempts=row.attempts, error_code=error_code)


class _Heartbeat:
    """Renews the running job's heartbeat every HEARTBEAT_SECONDS and writes progress (at most every 0.5 s)."""

    def __init__(self, db: Database, job_id: int, worker: str):
        self.db, self.job_id, self.worker = db, job_id, worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat", daemon=True)
        self._lock = threading.Lock()
        self._pending: tuple[int, int | None] | None = None
        self._written = 0.0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=HEARTBEAT_SECONDS + 5)
        _LIVE.pop(self.job_id, None)

    def progress(self, done: int, total: int | None = None) -> None:
        with self._lock:
            self._pending = (int(done), None if total is None else int(total))
        if time.monotonic() - self._written >= PROGRESS_EVERY:
            self._write()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self._write()
            except Exception:  # a missed beat is retried at the next one
                log.warning("job %s: heartbeat not written", self.job_id, exc_info=True)

    def _write(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
            self._written = time.monotonic()
        if pending:
            _LIVE[self.job_id] = (pending[0], pending[1] if pending[1] is not None else
                                  (_LIVE.get(self.job_id) or (0, None))[1])
        if self.db.is_sqlite:  # the row waits for the write lock: progress stays in this process (_LIVE)
            return
        values: dict = {"heartbeat_at": _now()}
        if pending:
            values["progress_done"] = pending[0]
            if pending[1] is not None:
                values["progress_total"] = pending[1]
        with self.db.transaction() as session:
            session.execute(update(BackgroundJob).where(
                BackgroundJob.id == self.job_id, BackgroundJob.worker == self.worker,
                BackgroundJob.status == JobStatus.RUNNING).values(**values)
                .execution_options(synchronize_session=False))


class InProcessBackend:
    """Jobs on a thread pool of this process (the embedded default)."""

    name = "in-process"

    def __init__(self, db: Database, workers: int = 2):
        self.db = db
        # SQLite has one writer: two jobs at once would make the second fail upgrading its read to a write.
        self.pool = ThreadPoolExecutor(max_workers=1 if db.is_sqlite else workers, thread_name_prefix="webir-job")

    def enqueue(self, job_id: int) -> None:
        self.pool.submit(run_job, self.db, job_id)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class CeleryBackend:
    """Job ids on a Redis queue for `webir worker` processes (engine.jobs_celery)."""

    name = "celery"

    def __init__(self, broker_url: str, queue: str = DEFAULT_QUEUE):
        from engine.jobs_celery import make_celery

        self.queue = queue
        self.app = make_celery(broker_url, queue)

    def enqueue(self, job_id: int) -> None:
        self.app.send_task("webir.run_job", args=[job_id], queue=self.queue)

    def close(self) -> None:
        self.app.close()


class JobQueue:
    """Submit, wait for, retry and sweep jobs of one database on one backend."""

    def __init__(self, db: Database, broker_url: str | None = None, queue: str | None = None, workers: int = 2):
        self.db = db
        self.broker_url = broker_url or None
        self.queue_name = queue or DEFAULT_QUEUE
        self.backend = CeleryBackend(self.broker_url, self.queue_name) if self.broker_url \
            else InProcessBackend(db, workers)

    def submit(self, kind: str, params: dict, agency_id: int | None = None, created_by: str | None = None) -> int:
        """Write the job row (committed), then queue its id; returns the id. If the broker cannot be reached the
        row stays queued (the next sweep queues it again) and the error is raised."""
        if kind not in HANDLERS:
            raise UnknownJob(f"unknown job kind '{kind}'; kinds: {', '.join(sorted(HANDLERS))}")
        with self.db.transaction() as session:
            row = BackgroundJob(kind=kind, params=params, agency_id=agency_id, created_by=created_by,
                                status=JobStatus.QUEUED, created_at=_now(), heartbeat_at=_now())
            session.add(row)
            session.flush()
            job_id = row.id
            audit.record(session, "job_queued", created_by, after=JobStatus.QUEUED.value, job=job_id, kind=kind,
                         backend=self.backend.name)
        try:
            self.backend.enqueue(job_id)
        except Exception:
            with self.db.transaction() as session:  # the sweep queues it again once the broker answers
                session.execute(update(BackgroundJob).where(BackgroundJob.id == job_id,
                                                            BackgroundJob.status == JobStatus.QUEUED)
                                .values(error_code=NOT_QUEUED).execution_options(synchronize_session=False))
            raise
        return job_id

    def wait(self, job_id: int, timeout: float, poll: float = 0.05) -> JobView | None:
        """The job once finished, or None after `timeout` seconds (the job goes on)."""
        deadline = time.monotonic() + timeout
        while True:
            view = get(self.db, job_id)
            if view is None or view.finished:
                return view
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
            poll = min(poll * 1.5, 0.5)

    def retry(self, job_id: int, actor: str | None = None) -> bool:
        """Queue a failed job, or one whose worker died, again; False if it is queued, running or succeeded."""
        stale = _now() - dt.timedelta(seconds=STALE_SECONDS)
        with self.db.transaction() as session:
            changed = session.execute(
                update(BackgroundJob).where(BackgroundJob.id == job_id,
                                            or_(BackgroundJob.status == JobStatus.FAILED, _abandoned(self.db, stale)))
                .values(status=JobStatus.QUEUED, heartbeat_at=_now(), finished_at=None)
                .execution_options(synchronize_session=False)).rowcount
            if changed != 1:
                return False
            audit.record(session, "job_requeued", actor, after=JobStatus.QUEUED.value, job=job_id, reason="retry")
        self.backend.enqueue(job_id)
        return True

    def requeue_stale(self, stale_seconds: float | None = None) -> list[int]:
        """Jobs whose worker died (running, no heartbeat for `stale_seconds`) or whose id never reached the broker
        (it was down at submit): queue them again, or fail them after MAX_ATTEMPTS. `stale_seconds=0`: the caller
        knows the process that ran in-process jobs is gone, so every unfinished job is queued again."""
        cutoff = _now() - dt.timedelta(seconds=STALE_SECONDS if stale_seconds is None else stale_seconds)
        process_gone = stale_seconds == 0  # `webir run` starting: its in-process jobs died with the last process
        requeued = []
        with self.db.sessions() as session:
            ids = list(session.scalars(select(BackgroundJob.id).where(
                self._lost(cutoff, process_gone)).order_by(BackgroundJob.id)))
        for job_id in ids:
            with self.db.transaction() as session:
                row = session.scalar(select(BackgroundJob).where(BackgroundJob.id == job_id,
                                                                 self._lost(cutoff, process_gone)).with_for_update())
                if row is None:
                    continue
                before = row.status.value
                if row.status == JobStatus.RUNNING and row.attempts >= MAX_ATTEMPTS:
                    row.status, row.finished_at = JobStatus.FAILED, _now()
                    row.error_code, row.error = "abandoned", f"its worker stopped {row.attempts} times"
                    audit.record(session, "job_finished", row.created_by, before=before, after="failed",
                                 job=job_id, kind=row.kind, error_code="abandoned")
                    continue
                row.status, row.heartbeat_at, row.error_code = JobStatus.QUEUED, _now(), None
                audit.record(session, "job_requeued", None, before=before, after="queued", job=job_id,
                             reason="worker stopped" if before == "running" else "never picked up")
            self.backend.enqueue(job_id)
            requeued.append(job_id)
        return requeued

    def _lost(self, cutoff: dt.datetime, process_gone: bool):
        """Jobs no worker will run: running without a heartbeat since `cutoff` (SQLite: only when the process is
        known gone, as a running import there cannot renew its heartbeat), and queued ones whose id never reached
        the broker; when the in-process backend's process is gone, every unfinished one."""
        if process_gone:
            return BackgroundJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])
        return or_(and_(BackgroundJob.status == JobStatus.QUEUED, BackgroundJob.error_code == NOT_QUEUED),
                   _abandoned(self.db, cutoff))

    def close(self) -> None:
        self.backend.close()


def queue_from_env(db: Database) -> JobQueue:
    """WEBIR_JOB_BROKER (none: in-process threads) and WEBIR_JOB_QUEUE (default `webir-jobs`)."""
    return JobQueue(db, os.environ.get("WEBIR_JOB_BROKER") or None, os.environ.get("WEBIR_JOB_QUEUE") or None)
