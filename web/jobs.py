"""Background jobs in the web app: the app's job queue, who may see a job, and the progress pages `/jobs`."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.assignment import visible_agencies
from engine.jobs import JobQueue, JobView, queue_from_env
from engine.models import BackgroundJob, User
from web.extensions import get_db
from workflows.org import roles_of

# Who may follow an agency's jobs besides the person who asked: the record keepers of web.api.records.
JOB_WATCHERS = ("agency_admin", "unit_admin", "agency_audit", "master_admin", "master_audit")
PER_PAGE = 50
bp = Blueprint("jobs", __name__)


def job_queue() -> JobQueue:
    """The app's queue (WEBIR_JOB_BROKER: Celery on Redis; none: a thread pool in this process), made on first use
    so that starting the app never waits for the broker."""
    queue = current_app.extensions.get("webir_jobs")
    if queue is None:
        queue = current_app.config.get("JOB_QUEUE") or queue_from_env(get_db())
        current_app.extensions["webir_jobs"] = queue
    return queue


def visible_jobs_condition(session: Session, user: User):
    """Jobs I asked for, and those of agencies I may see when I hold a record-keeping role."""
    mine = BackgroundJob.created_by == user.username
    if not set(JOB_WATCHERS) & set(roles_of(session, user)):
        return mine
    return or_(mine, BackgroundJob.agency_id.in_([a.id for a in visible_agencies(session, user)]))


def visible_job(session: Session, user: User, job_id: int) -> JobView | None:
    row = session.scalar(select(BackgroundJob).where(BackgroundJob.id == job_id,
                                                     visible_jobs_condition(session, user)))
    return JobView.of(row) if row else None


def job_dict(view: JobView) -> dict:
    """A job as the API shows it (parameters are internal: file paths stay on the server)."""
    return {"id": view.id, "kind": view.kind, "status": view.status, "attempts": view.attempts,
            "progress": {"done": view.progress_done, "total": view.progress_total, "fraction": view.fraction},
            "result": view.result if view.status == "succeeded" else None,
            "error": {"code": view.error_code, "message": view.error} if view.status == "failed" else None,
            "created_by": view.created_by, "created_at": _iso(view.created_at), "started_at": _iso(view.started_at),
            "finished_at": _iso(view.finished_at), "heartbeat_at": _iso(view.heartbeat_at)}


def _iso(value):
    return value.isoformat() if value else None


@bp.get("/jobs")
@login_required
def index():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    with get_db().sessions() as session:
        user = session.get(User, int(current_user.id))
        rows = session.scalars(select(BackgroundJob).where(visible_jobs_condition(session, user))
                               .order_by(BackgroundJob.id.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE))
        jobs = [JobView.of(r) for r in rows]
    running = any(not j.finished for j in jobs)
    return render_template("jobs/index.html", jobs=jobs, page=page, refresh=running, section="/jobs")


@bp.get("/jobs/<int:job_id>")
@login_required
def show(job_id: int):
    with get_db().sessions() as session:
        job = visible_job(session, session.get(User, int(current_user.id)), job_id)
    if job is None:
        abort(404)
    return render_template("jobs/show.html", job=job, refresh=not job.finished, section="/jobs")
