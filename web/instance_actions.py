"""Manager actions on the instance page: suspend, resume, cancel with a reason, reassign a task (CSRF-protected
forms; allowed to the agency's agency_admin and to master_admin, others get 403). Routes on the instances blueprint."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from engine import admin_ops
from engine.assignment import NotAllowed
from engine.models import HumanTask
from engine.runtime import NotFound, TaskNotReady
from web.errors import error_response
from web.extensions import get_db
from web.instances import bp

DONE = {
    "suspend": "已暫停案件 Instance suspended",
    "resume": "已恢復案件 Instance resumed",
    "cancel": "已取消案件 Instance cancelled",
    "reassign": "已改派任務 Task reassigned",
    "priority": "已設定優先順序 Priority set",
}


def _run(instance_id: int, action: str, operation, *args):
    """Run one manager operation and answer: back to the instance page, or the error page (403, 404, 409)."""
    try:
        operation(get_db(), *args)
    except NotFound:
        abort(404)
    except NotAllowed as exc:
        return error_response(403, str(exc))
    except admin_ops.InvalidTransition as exc:
        return error_response(409, str(exc))
    except (admin_ops.ReasonRequired, admin_ops.PriorityInvalid) as exc:
        flash(str(exc), "error")
    except TaskNotReady:
        flash("此任務已不在待辦狀態 This task is no longer ready", "warning")
    else:
        flash(DONE[action], "success")
    return redirect(url_for("instances.show", instance_id=instance_id, _anchor="manage"), code=303)


@bp.post("/instances/<int:instance_id>/suspend")
@login_required
def suspend(instance_id: int):
    return _run(instance_id, "suspend", admin_ops.suspend_instance, instance_id, current_user.id,
                request.form.get("reason"))


@bp.post("/instances/<int:instance_id>/resume")
@login_required
def resume(instance_id: int):
    return _run(instance_id, "resume", admin_ops.resume_instance, instance_id, current_user.id,
                request.form.get("reason"))


@bp.post("/instances/<int:instance_id>/cancel")
@login_required
def cancel(instance_id: int):
    return _run(instance_id, "cancel", admin_ops.cancel_instance, instance_id, current_user.id,
                request.form.get("reason"))


@bp.post("/instances/<int:instance_id>/tasks/<int:task_id>/reassign")
@login_required
def reassign(instance_id: int, task_id: int):
    return _run(instance_id, "reassign", _reassign_in, instance_id, task_id, request.form.get("to", ""))


@bp.post("/instances/<int:instance_id>/tasks/<int:task_id>/priority")
@login_required
def set_priority(instance_id: int, task_id: int):
    return _run(instance_id, "priority", _priority_in, instance_id, task_id, request.form.get("priority", ""))


def _task_of(db, instance_id: int, task_id: int) -> None:
    """Refuse a task id that belongs to another instance than the page's (404, never a mix-up)."""
    with db.sessions() as session:
        task = session.get(HumanTask, task_id)
        if task is None or task.instance_id != instance_id:
            raise NotFound(f"task {task_id} not found")


def _reassign_in(db, instance_id: int, task_id: int, to_username: str) -> None:
    _task_of(db, instance_id, task_id)
    admin_ops.reassign_task(db, task_id, current_user.id, to_username)


def _priority_in(db, instance_id: int, task_id: int, priority: str) -> None:
    _task_of(db, instance_id, task_id)
    admin_ops.set_task_priority(db, task_id, current_user.id, priority)
