"""Background jobs over the API: a job's status and progress, the list of jobs I may follow, retry."""

from __future__ import annotations

from flask import Response, current_app, g, jsonify, request
from sqlalchemy import func, select

from engine.jobs import JobView
from engine.models import BackgroundJob
from web.api import bp, openapi
from web.api.auth import api_user
from web.api.errors import ApiError
from web.api.params import paging
from web.extensions import get_db
from web.jobs import job_dict, job_queue, visible_job, visible_jobs_condition


def _not_found(job_id: int) -> ApiError:
    return ApiError(404, "not_found", f"找不到背景工作 Job {job_id} not found")


@bp.get("/jobs/<int:job_id>")
def job_get(job_id: int) -> Response:
    """A job: status (queued, running, succeeded, failed), progress {done, total, fraction}, result or error."""
    with get_db().sessions() as session:
        view = visible_job(session, api_user(session), job_id)
        if view is None:
            raise _not_found(job_id)
        return jsonify(job_dict(view))


@bp.get("/jobs")
def jobs_list() -> Response:
    """Jobs I asked for, and my agencies' jobs for record keepers; newest first."""
    page, per_page = paging()
    with get_db().sessions() as session:
        condition = visible_jobs_condition(session, api_user(session))
        total = session.scalar(select(func.count()).select_from(BackgroundJob).where(condition))
        rows = session.scalars(select(BackgroundJob).where(condition).order_by(BackgroundJob.id.desc())
                               .limit(per_page).offset((page - 1) * per_page))
        return jsonify({"items": [job_dict(JobView.of(r)) for r in rows], "total": total, "page": page,
                        "per_page": per_page})


@bp.post("/jobs/<int:job_id>/retry")
def job_retry(job_id: int) -> Response:
    """Queue a failed job, or one whose worker stopped, again: 202 with the job; 409 if it is queued, running or
    done."""
    with get_db().sessions() as session:
        user = api_user(session)
        if visible_job(session, user, job_id) is None:
            raise _not_found(job_id)
        username = user.username
    if not job_queue().retry(job_id, actor=username):
        raise ApiError(409, "conflict", f"背景工作 {job_id} 正在排隊、執行中或已完成 "
                       f"Job {job_id} is queued, running or already succeeded")
    with get_db().sessions() as session:
        return jsonify(job_dict(visible_job(session, api_user(session), job_id))), 202


def respond_with_job(job_id: int, finished_status: int = 201, result_of=None) -> tuple[Response, int]:
    """What a job-starting endpoint answers: with `Prefer: respond-async`, 202 and the job at once; otherwise it
    waits for the job (up to JOB_WAIT_SECONDS, default 25 s) and answers its result as the synchronous endpoint did
    (or its refusal as the error), else 202 with the job to follow at Location."""
    queue = job_queue()
    asynchronous = "respond-async" in (request.headers.get("Prefer") or "")
    view = None if asynchronous else queue.wait(job_id, float(current_app.config.get("JOB_WAIT_SECONDS", 25)))
    if view is not None and view.status == "succeeded":
        return jsonify(result_of(view.result) if result_of else view.result), finished_status
    if view is not None and view.status == "failed":
        status = (view.result or {}).get("http_status") or 500
        code = view.error_code if status != 500 else "job_failed"
        raise ApiError(status, code, view.error or "背景工作失敗 The job failed", {"job_id": job_id})
    with get_db().sessions() as session:
        view = visible_job(session, api_user(session), job_id)
    response = jsonify({"job": job_dict(view)})
    response.headers["Location"] = f"/api/v1/jobs/{job_id}"
    g.job_id = job_id
    return response, 202


def job_schema() -> dict:
    o = openapi
    return o._obj({"id": o.INT, "kind": o.STR, "status": {"type": "string",
                                                         "enum": ["queued", "running", "succeeded", "failed"]},
                   "attempts": o.INT, "progress": {"type": "object"}, "result": {"type": ["object", "null"]},
                   "error": {"type": ["object", "null"]}, "created_by": {"type": ["string", "null"]}},
                  ("id", "kind", "status", "progress"))


def accepted_answer() -> dict:
    """The 202 of a job-starting endpoint: `{job}` with Location /api/v1/jobs/{id}."""
    return {"description": "Accepted: running as a background job (Prefer: respond-async, or it takes long)",
            **openapi._json(openapi._obj({"job": job_schema()}, ("job",)))}


def _paths() -> dict:
    o = openapi
    retry = o._op("Queue a failed job (or one whose worker stopped) again", "202", job_schema(),
                  errors=("404", "409"), params=[o._path_id("job_id")])
    return {
        "/jobs": {"get": o._op("Background jobs I asked for or follow, newest first", "200",
                               o._obj({"items": o._array(job_schema()), "total": o.INT}),
                               params=[o._query("page", o.INT), o._query("per_page", o.INT)])},
        "/jobs/{job_id}": {"get": o._op("A background job: status, progress, result or error", "200", job_schema(),
                                        errors=("404",), params=[o._path_id("job_id")])},
        "/jobs/{job_id}/retry": {"post": retry},
    }


openapi.EXTRA_PATHS.append(_paths)
