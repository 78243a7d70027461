"""The task page: the form (validated on the server, errors next to fields), instructions, the instance's context,
comments, and a print view of the form. Routes on the inbox blueprint."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import clock
from engine.assignment import NotAllowed
from engine.comments import MAX_COMMENT_CHARS, CommentInvalid, add_comment
from engine.form_drafts import draft_of
from engine.inspect import task_details
from engine.models import User
from engine.runtime import FormInvalid, NotFound, TaskNotReady, complete_task
from engine.task_files import Upload, UploadTooLarge, file_fields
from web.errors import error_response
from web.extensions import get_db
from web.forms import build_fields, parse_submission
from web.inbox import bp
from web.queries import visible_task
from web.task_context import form_values, task_page_context


def _context(task_id: int) -> dict:
    """The page context, or 404 when the task is missing or not visible."""
    try:
        with get_db().sessions() as session:
            return task_page_context(session, session.get(User, current_user.id), task_id)
    except NotFound:
        abort(404)


def my_draft(task_id: int) -> tuple[dict, object] | None:
    """(data, saved_at) of my draft of the task (web/task_drafts.py saves it), if I have one."""
    with get_db().sessions() as session:
        draft = draft_of(session, task_id, current_user.id)
        return (dict(draft.data), draft.saved_at) if draft else None


def _render_task(task_id: int, values: dict | None = None, errors: dict | None = None, status: int = 200,
                 comment_error: str | None = None, comment_text: str = ""):
    """The task page, with the form prefilled from `values` (else the task data) and `errors` shown."""
    ctx = _context(task_id)
    schema = ctx["schema"] or {}
    draft = my_draft(task_id) if ctx["may_complete"] else None
    prefill = values if values is not None else draft[0] if draft else form_values(schema, ctx["data"])
    fields = build_fields(schema, ctx["ui_schema"], prefill, errors) if ctx["may_complete"] else []
    return render_template("inbox/task.html", fields=fields, errors=errors or {}, comment_error=comment_error,
                           comment_text=comment_text, max_comment=MAX_COMMENT_CHARS,
                           draft_saved_at=draft[1] if draft else None, **ctx), status


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    return _render_task(task_id)


def _uploads(schema: dict | None) -> dict[str, Upload]:
    """The files posted for the form's file fields (an empty file input sends no file)."""
    uploads = {}
    for name in file_fields(schema):
        posted = request.files.get(name)
        if posted is not None and posted.filename:
            uploads[name] = Upload(posted.filename, posted.read(), posted.mimetype or "application/octet-stream")
    return uploads


def posted_form(task_id: int) -> tuple[dict, int, dict | None]:
    """The posted form parsed against the task's schema, the task's instance id, and the schema."""
    try:
        with get_db().sessions() as session:
            visible = visible_task(session, session.get(User, current_user.id), task_id)
            details, instance_id = task_details(session, visible), visible.instance_id
    except NotFound:
        abort(404)
    schema, ui_schema = details["form"]["schema"], details["form"]["ui_schema"]
    if not schema:
        return {}, instance_id, schema
    return parse_submission(schema, request.form, ui_schema, current=details["data"]), instance_id, schema


@bp.post("/tasks/<int:task_id>")
@login_required
def submit(task_id: int):
    data, instance_id, schema = posted_form(task_id)
    try:
        instance_id = complete_task(get_db(), task_id, current_user.id, data, _uploads(schema))
    except NotFound:
        abort(404)
    except NotAllowed as exc:
        return error_response(403, str(exc))
    except TaskNotReady:
        flash("此任務已不在待辦狀態 This task is no longer ready", "warning")
        return redirect(url_for("instances.show", instance_id=instance_id), code=303)
    except FormInvalid as exc:
        return _render_task(task_id, values=data, errors=exc.fields, status=422)
    except UploadTooLarge as exc:
        return _render_task(task_id, values=data, errors={exc.field: str(exc)}, status=413)
    flash("已送出 Submitted", "success")
    return redirect(url_for("instances.show", instance_id=instance_id), code=303)


@bp.post("/tasks/<int:task_id>/comments")
@login_required
def comment(task_id: int):
    text = request.form.get("body", "")
    try:
        add_comment(get_db(), task_id, current_user.id, text)
    except NotFound:
        abort(404)
    except CommentInvalid as exc:
        return _render_task(task_id, status=422, comment_error=str(exc), comment_text=text[:MAX_COMMENT_CHARS * 2])
    flash("已新增留言 Comment added", "success")
    return redirect(url_for("inbox.task", task_id=task_id, _anchor="comments"), code=303)


@bp.get("/tasks/<int:task_id>/print")
@login_required
def print_view(task_id: int):
    """The form with its current values (blank lines where empty), instructions and context, for paper."""
    ctx = _context(task_id)
    schema = ctx["schema"] or {}
    fields = build_fields(schema, ctx["ui_schema"], form_values(schema, ctx["data"]), None)
    return render_template("inbox/print.html", fields=[f for f in fields if f.widget != "hidden"],
                           printed_at=clock.now(), **ctx)
