"""Task endpoints: list, read (with form and data), claim, unclaim, complete."""

from __future__ import annotations

import json

from flask import Response, g, jsonify, request

from engine.assignment import check_may_complete
from engine.inspect import task_details
from engine.models import ProcessInstance, TaskStatus
from engine.runtime import TaskNotReady, claim_task, complete_task
from engine.task_files import Upload
from web.api import bp
from web.api.auth import api_user
from web.api.errors import ApiError, bad_request
from web.api.params import choice_arg, json_body, paging, text_arg
from web.extensions import get_db, reading, reads_in_request_session
from web.queries import TASK_SCOPES, TASK_STATUSES, instance_dict, list_tasks, task_dict, task_dicts, visible_task


@bp.get("/tasks")
@reads_in_request_session
def tasks_list() -> Response:
    """Tasks: `scope=mine|all`, `status=ready|completed`, `process_id=`, `page=`."""
    scope = choice_arg("scope", TASK_SCOPES, "mine")
    status = choice_arg("status", TASK_STATUSES, "ready")
    process_id = text_arg("process_id")
    page, per_page = paging()
    with reading() as session:
        user = api_user(session)
        tasks, total = list_tasks(session, user, scope, status, process_id, page, per_page)
        return jsonify({"items": task_dicts(session, tasks), "total": total, "page": page,
                        "per_page": per_page})


@bp.get("/tasks/<int:task_id>")
@reads_in_request_session
def task_get(task_id: int) -> Response:
    """A task with its form, rendered instructions and the data the form may show."""
    with reading() as session:
        task = visible_task(session, api_user(session), task_id)
        return jsonify({**task_dict(session, task), **task_details(session, task)})


def _task_answer(task_id: int) -> Response:
    """The task as the engine's write just left it."""
    with reading() as session:
        return jsonify(task_dict(session, visible_task(session, api_user(session), task_id, fresh=True)))


@bp.post("/tasks/<int:task_id>/claim")
def task_claim(task_id: int) -> Response:
    """Take a task (only someone who may complete it can)."""
    claim_task(get_db(), task_id, g.api_user_id, claim=True)
    return _task_answer(task_id)


@bp.post("/tasks/<int:task_id>/unclaim")
def task_unclaim(task_id: int) -> Response:
    """Give a claimed task back to its role."""
    claim_task(get_db(), task_id, g.api_user_id, claim=False)
    return _task_answer(task_id)


def _uploads() -> dict[str, Upload]:
    """Files of a multipart completion, by file-field name (`data` is then a JSON text part)."""
    return {name: Upload(f.filename or name, f.read(), f.mimetype or "application/octet-stream")
            for name, f in request.files.items(multi=False)}


def _form_data() -> dict:
    if request.mimetype == "multipart/form-data":
        try:
            data = json.loads(request.form.get("data") or "{}")
        except ValueError:
            raise bad_request("'data' must be JSON text", {"fields": {"data": "must be a JSON object"}}) from None
        if not isinstance(data, dict):
            raise bad_request("'data' must be a JSON object", {"fields": {"data": "must be a JSON object"}})
        return data
    data = json_body().get("data")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise bad_request("'data' must be a JSON object", {"fields": {"data": "must be a JSON object"}})
    return data


def _check_before_bad_request(task_id: int) -> None:
    """A bad body still answers 404 / 409 / 403 first, as a good one would."""
    with reading() as session:
        user = api_user(session)
        task = visible_task(session, user, task_id)
        if task.status != TaskStatus.READY:
            raise TaskNotReady(f"task {task_id} is {task.status.value}, no longer ready")
        check_may_complete(session, user, task, session.get(ProcessInstance, task.instance_id))


@bp.post("/tasks/<int:task_id>/complete")
def task_complete(task_id: int) -> Response:
    """Submit a task's form `{data: {...}}`; answers the instance as it is now. A form with file fields may be
    sent as multipart: a `data` part (JSON text) and one file part per file field (engine/task_files.py)."""
    try:
        data = _form_data()
    except ApiError:
        _check_before_bad_request(task_id)
        raise
    uploads = _uploads() if request.mimetype == "multipart/form-data" else {}
    instance_id = complete_task(get_db(), task_id, g.api_user_id, data, uploads)
    with reading() as session:  # the instance as the completion left it (ready_tasks are always read afresh)
        instance = session.get(ProcessInstance, instance_id, populate_existing=True)
        return jsonify({"instance": instance_dict(session, instance)})
