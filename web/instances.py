"""Process pages: the instances I may see, starting a process, one instance with its diagram and history."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

import web
from engine.assignment import NotAllowed
from engine.models import HumanTask, TaskStatus, User
from engine.runtime import NotFound, start_instance
from engine.specs import latest_versions
from web.errors import error_response
from web.extensions import get_db
from web.paging import page_arg
from web.queries import INSTANCE_STATUSES, instance_dict, list_instances, visible_instance

bp = Blueprint("instances", __name__)

BPMN_JS_DIST = Path(web.__file__).resolve().parent.parent / "node_modules" / "bpmn-js" / "dist"
PER_PAGE = 50
ACTIONS = {
    "instance_started": "啟動流程 Process started",
    "instance_running": "執行中 Running",
    "instance_waiting": "等待中 Waiting",
    "instance_completed": "流程完成 Process completed",
    "instance_cancelled": "流程取消 Process cancelled",
    "instance_suspended": "流程暫停 Process suspended",
    "instance_error": "流程錯誤 Process error",
    "task_completed": "完成任務 Task completed",
    "task_claimed": "認領任務 Task claimed",
    "task_unclaimed": "退回任務 Task unclaimed",
    "role_granted": "授予角色 Role granted",
    "role_revoked": "撤銷角色 Role revoked",
}


def _me(session) -> User:
    """The logged-in user as an ORM row."""
    return session.get(User, current_user.id)


def _process_names(session) -> dict[str, str]:
    return {v.process_id: v.name or v.process_id for v in latest_versions(session)}



@bp.get("/instances")
@login_required
def index():
    process_id = request.args.get("process_id") or None
    status = request.args.get("status") if request.args.get("status") in INSTANCE_STATUSES else None
    page = page_arg()
    with get_db().sessions() as session:
        rows, total = list_instances(session, _me(session), process_id=process_id, status=status, page=page,
                                     per_page=PER_PAGE)
        instances = [instance_dict(session, row) for row in rows]
        names = _process_names(session)
    return render_template("instances/index.html", instances=instances, total=total, names=names,
                           process_id=process_id, status=status, statuses=INSTANCE_STATUSES, page=page,
                           pages=max(1, -(-total // PER_PAGE)))


def _my_first_ready_task(instance_id: int) -> int | None:
    """The first ready task of the instance assigned to me (the applicant's form, usually)."""
    with get_db().sessions() as session:
        return session.scalar(
            select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                       HumanTask.status == TaskStatus.READY,
                                       HumanTask.assignee_id == current_user.id)
            .order_by(HumanTask.id).limit(1))


@bp.post("/instances/start")
@login_required
def start():
    process_id = (request.form.get("process_id") or "").strip()
    try:
        instance_id = start_instance(get_db(), process_id, current_user.id)
    except NotFound:
        flash("找不到此流程 This process is not deployed", "error")
        return redirect(url_for("inbox.index"), code=303)
    except NotAllowed as exc:
        return error_response(403, str(exc))
    flash(f"已啟動流程 #{instance_id} Process started", "success")
    task_id = _my_first_ready_task(instance_id)
    if task_id is not None:
        return redirect(url_for("inbox.task", task_id=task_id), code=303)
    return redirect(url_for("instances.show", instance_id=instance_id), code=303)


def _bpmn_url(process_id: str, version: int) -> str:
    """The REST API address of the instance's BPMN XML (same-origin, session-authenticated GET)."""
    return f"{request.script_root}/api/v1/process-models/{quote(process_id, safe='')}/bpmn?version={version}"


@bp.get("/instances/<int:instance_id>")
@login_required
def show(instance_id: int):
    try:
        with get_db().sessions() as session:
            instance = instance_dict(session, visible_instance(session, _me(session), instance_id),
                                     with_history=True)
            name = _process_names(session).get(instance["process_id"], instance["process_id"])
    except NotFound:
        abort(404)
    ready_names = sorted({t["name"] for t in instance["ready_tasks"]})
    return render_template("instances/show.html", instance=instance, process_name=name, actions=ACTIONS,
                           bpmn_url=_bpmn_url(instance["process_id"], instance["version"]),
                           ready_names=ready_names)


@bp.get("/assets/bpmn-js/<path:filename>")
def bpmn_js_asset(filename: str):
    """The bpmn-js bundles and their CSS/fonts, straight from node_modules (nothing outside dist/)."""
    if not BPMN_JS_DIST.is_dir():
        abort(404)
    return send_from_directory(BPMN_JS_DIST, filename, max_age=3600)
