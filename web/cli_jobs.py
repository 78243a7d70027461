"""`webir worker`: a Celery worker for background jobs (WEBIR_JOB_BROKER); `webir jobs requeue`: queue again the
jobs whose worker stopped."""

from __future__ import annotations

import importlib
import os

import click

from engine import jobs


def _broker() -> str:
    broker = os.environ.get("WEBIR_JOB_BROKER")
    if not broker:
        raise click.ClickException("WEBIR_JOB_BROKER is not set: without a broker jobs run inside `webir run` "
                                   "(set e.g. redis://127.0.0.1:6379/0 to run them on workers)")
    return broker


def register(main: click.Group, database, user_errors) -> None:
    """Add the job commands to the `webir` group."""

    @main.command("worker")
    @click.option("--concurrency", default=2, show_default=True, type=int, help="Jobs run at once (threads).")
    @click.option("--include", "modules", multiple=True, help="Also import this module (more job kinds).")
    @user_errors
    def worker(concurrency: int, modules: tuple[str, ...]) -> None:
        """Run background jobs from WEBIR_JOB_BROKER's queue (WEBIR_JOB_QUEUE, default webir-jobs)."""
        from engine.jobs_celery import run_worker

        broker = _broker()
        for module in modules:
            importlib.import_module(module)
        run_worker(database(), broker, os.environ.get("WEBIR_JOB_QUEUE") or jobs.DEFAULT_QUEUE, concurrency)

    @main.group("jobs")
    def jobs_group() -> None:
        """Background jobs."""

    @jobs_group.command("requeue")
    @user_errors
    def requeue() -> None:
        """Queue again every job whose worker stopped (no heartbeat for a minute)."""
        queue = jobs.queue_from_env(database())
        try:
            requeued = queue.requeue_stale()
        finally:
            queue.close()
        click.echo(f"queued again: {len(requeued)} job(s) {' '.join(map(str, requeued))}".rstrip())
