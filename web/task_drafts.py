"""Save a task's form as a draft without completing it, or discard the draft (engine/form_drafts.py). Routes on the
inbox blueprint; the task page (web/task_page.py) restores the draft when its author reopens the task."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user, login_required

from engine.assignment import NotAllowed
from engine.form_drafts import discard_draft, save_draft
from engine.runtime import FormInvalid, NotFound, TaskNotReady
from web.errors import error_response
from web.extensions import get_db
from web.inbox import bp
from web.task_page import posted_form as parsed_form  # the form parsed exactly as for submitting


@bp.post("/tasks/<int:task_id>/draft")
@login_required
def save_task_draft(task_id: int):
    data, instance_id, _schema = parsed_form(task_id)
    try:
        save_draft(get_db(), task_id, current_user.id, data)
    except NotFound:
        abort(404)
    except NotAllowed as exc:
        return error_response(403, str(exc))
    except TaskNotReady:
        flash("此任務已不在待辦狀態 This task is no longer ready", "warning")
        return redirect(url_for("instances.show", instance_id=instance_id), code=303)
    except FormInvalid as exc:
        return error_response(400, str(exc))
    flash("已儲存草稿，尚未送出 Draft saved, not submitted yet", "success")
    return redirect(url_for("inbox.task", task_id=task_id), code=303)


@bp.post("/tasks/<int:task_id>/draft/discard")
@login_required
def discard_task_draft(task_id: int):
    try:
        gone = discard_draft(get_db(), task_id, current_user.id)
    except NotFound:
        abort(404)
    if gone:
        flash("已捨棄草稿 Draft discarded", "success")
    return redirect(url_for("inbox.task", task_id=task_id), code=303)
