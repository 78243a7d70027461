"""The Celery side of engine.jobs: one task (`webir.run_job`, the job id its only argument) and the worker.

Messages are acknowledged late and rejected back to the queue when the worker process is lost, so a message is
not dropped with a dead worker; the job row decides what actually runs (engine.jobs.run_job claims it), and every
worker sweeps for jobs whose worker died (no heartbeat) and queues them again.
"""

from __future__ import annotations

import logging
import os
import threading

from celery import Celery

from engine import jobs
from engine.db import Database

log = logging.getLogger(__name__)
VISIBILITY_TIMEOUT = 6 * 3600  # Redis redelivers an unacknowledged message after this; the sweep is faster
SWEEP_SECONDS = float(os.environ.get("WEBIR_JOB_SWEEP_SECONDS") or 15)
_worker_db: Database | None = None


def make_celery(broker_url: str, queue: str = jobs.DEFAULT_QUEUE) -> Celery:
    app = Celery("webir", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue, task_acks_late=True, task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1, task_ignore_result=True, broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT}, worker_hijack_root_logger=False,
        task_serializer="json", accept_content=["json"],
    )

    @app.task(name="webir.run_job", acks_late=True)
    def run_job(job_id: int) -> bool:
        if _worker_db is None:
            raise RuntimeError("webir.run_job runs only inside `webir worker`")
        return jobs.run_job(_worker_db, int(job_id))

    return app


def _sweep_forever(queue: jobs.JobQueue, stop: threading.Event) -> None:
    while not stop.wait(SWEEP_SECONDS):
        try:
            requeued = queue.requeue_stale()
            if requeued:
                log.warning("queued again (their worker stopped): jobs %s", requeued)
        except Exception:
            log.warning("sweep for stale jobs failed", exc_info=True)


def run_worker(db: Database, broker_url: str, queue_name: str, concurrency: int = 2) -> None:
    """Run a Celery worker on `queue_name` (thread pool: the jobs share this process's database pool), sweeping
    for stale jobs at start and every SWEEP_SECONDS. Returns when the worker stops (SIGTERM / Ctrl-C)."""
    global _worker_db
    _worker_db = db
    if db.is_sqlite:
        concurrency = 1  # one writer at a time (see engine.jobs.InProcessBackend)
    queue = jobs.JobQueue(db, broker_url, queue_name)
    requeued = queue.requeue_stale()
    if requeued:
        log.warning("queued again at start (their worker stopped): jobs %s", requeued)
    stop = threading.Event()
    threading.Thread(target=_sweep_forever, args=(queue, stop), name="job-sweeper", daemon=True).start()
    try:
        queue.backend.app.worker_main(["worker", "--queues", queue_name, "--pool", "threads", "--concurrency",
                                       str(concurrency), "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                                       "--without-heartbeat"])
    finally:
        stop.set()
