"""The staff inbox and the task page: list my work, show a task's form, submit, claim and unclaim."""

from __future__ import annotations

import html

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.assignment import NotAllowed, check_may_complete
from engine.inspect import task_details
from engine.models import ProcessInstance, TaskStatus, User
from engine.runtime import FormInvalid, NotFound, TaskNotReady, claim_task, complete_task
from engine.specs import latest_versions
from web.errors import error_response
from web.extensions import get_db
from web.forms import build_fields, parse_submission
from web.paging import page_arg
from web.queries import list_tasks, task_dict, visible_task

bp = Blueprint("inbox", __name__)

PER_PAGE = 50
TABS = (
    ("mine", "ready", "我的待辦", "My tasks"),
    ("mine", "completed", "已完成", "Completed"),
    ("all", "ready", "全部", "All visible"),
)


def _me(session) -> User:
    """The logged-in user as an ORM row."""
    return session.get(User, current_user.id)


def _choice(name: str, allowed: set[str], default: str) -> str:
    value = request.args.get(name, default)
    return value if value in allowed else default



@bp.get("/")
@login_required
def index():
    scope = _choice("scope", {"mine", "all"}, "mine")
    status = _choice("status", {"ready", "completed"}, "ready")
    page = page_arg()
    with get_db().sessions() as session:
        rows, total = list_tasks(session, _me(session), scope=scope, status=status, page=page,
                                 per_page=PER_PAGE)
        rows = [task_dict(session, row) for row in rows]
        processes = [{"process_id": v.process_id, "name": v.name, "version": v.deployment_id}
                     for v in latest_versions(session) if v.is_executable]
    pages = max(1, -(-total // PER_PAGE))
    return render_template("inbox/index.html", tasks=rows, total=total, scope=scope, status=status,
                           page=page, pages=pages, tabs=TABS, processes=processes)


def _form_values(schema: dict | None, data: dict) -> dict:
    """Only the form's own properties from the task data (prefill, never other process data)."""
    names = set((schema or {}).get("properties") or {})
    return {k: v for k, v in data.items() if k in names}


def _task_context(session, task_id: int) -> dict:
    """Everything the task page shows; raises NotFound when the task is not visible."""
    user = _me(session)
    task = visible_task(session, user, task_id)
    details = task_details(session, task)
    may_complete, reason = task.status == TaskStatus.READY, None
    if may_complete:
        try:
            check_may_complete(session, user, task, session.get(ProcessInstance, task.instance_id))
        except NotAllowed as exc:
            may_complete, reason = False, str(exc)
    info = task_dict(session, task)
    return {
        "task": info, "data": details["data"], "schema": details["form"]["schema"],
        "ui_schema": details["form"]["ui_schema"], "may_complete": may_complete, "reason": reason,
        "instructions": html.unescape(details["instructions"] or ""),
        "assigned_to_me": task.assignee_id == user.id, "is_ready": task.status == TaskStatus.READY,
        "may_unclaim": task.assignee_id == user.id and task.role not in (None, "applicant"),
    }


def _render_task(task_id: int, values: dict | None = None, errors: dict | None = None, status: int = 200):
    """The task page, with the form prefilled from `values` (else the task data) and `errors` shown."""
    try:
        with get_db().sessions() as session:
            ctx = _task_context(session, task_id)
    except NotFound:
        abort(404)
    schema = ctx["schema"] or {}
    prefill = values if values is not None else _form_values(schema, ctx["data"])
    fields = build_fields(schema, ctx["ui_schema"], prefill, errors) if ctx["may_complete"] else []
    return render_template("inbox/task.html", fields=fields, errors=errors or {}, **ctx), status


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    return _render_task(task_id)


def _submission(task_id: int) -> tuple[dict, int]:
    """The posted form parsed against the task's schema, and the task's instance id."""
    try:
        with get_db().sessions() as session:
            task = visible_task(session, _me(session), task_id)
            details, instance_id = task_details(session, task), task.instance_id
    except NotFound:
        abort(404)
    schema, ui_schema = details["form"]["schema"], details["form"]["ui_schema"]
    if not schema:
        return {}, instance_id
    return parse_submission(schema, request.form, ui_schema, current=details["data"]), instance_id


@bp.post("/tasks/<int:task_id>")
@login_required
def submit(task_id: int):
    data, instance_id = _submission(task_id)
    try:
        instance_id = complete_task(get_db(), task_id, current_user.id, data)
    except NotFound:
        abort(404)
    except NotAllowed as exc:
        return error_response(403, str(exc))
    except TaskNotReady:
        flash("此任務已不在待辦狀態 This task is no longer ready", "warning")
        return redirect(url_for("instances.show", instance_id=instance_id), code=303)
    except FormInvalid as exc:
        return _render_task(task_id, values=data, errors=exc.fields, status=422)
    flash("已送出 Submitted", "success")
    return redirect(url_for("instances.show", instance_id=instance_id), code=303)


def _claim(task_id: int, claim: bool):
    """Claim or unclaim, then back to the task page (or to its instance when it is no longer ready)."""
    try:
        claim_task(get_db(), task_id, current_user.id, claim=claim)
    except NotFound:
        abort(404)
    except NotAllowed as exc:
        flash(str(exc), "error")
    except TaskNotReady:
        with get_db().sessions() as session:
            instance_id = visible_task(session, _me(session), task_id).instance_id
        flash("此任務已不在待辦狀態 This task is no longer ready", "warning")
        return redirect(url_for("instances.show", instance_id=instance_id), code=303)
    else:
        flash("已認領 Claimed" if claim else "已退回 Unclaimed", "success")
    return redirect(url_for("inbox.task", task_id=task_id), code=303)


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int):
    return _claim(task_id, True)


@bp.post("/tasks/<int:task_id>/unclaim")
@login_required
def unclaim(task_id: int):
    return _claim(task_id, False)
