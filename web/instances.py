"""Process pages: the instances I may see, starting a process, one instance with its diagram and history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

import web
from engine.assignment import NotAllowed, visible_agencies
from engine.models import HumanTask, TaskStatus, User
from engine.runtime import NotFound, start_instance
from web.current_user import me
from web.errors import error_response
from web.extensions import get_db
from web.inbox import PRIORITY_LABELS
from web.inbox_queries import process_catalogue, viewer
from web.instance_view import action_label, current_tasks, diagram_markers, timeline, viewer_may_manage
from web.paging import page_arg
from web.queries import INSTANCE_STATUSES, instance_dict, instance_dicts, list_instances, visible_instance
from workflows.annual_submission import packages_linked

bp = Blueprint("instances", __name__)
bp.add_app_template_global(action_label, "action_label")

BPMN_JS_DIST = Path(web.__file__).resolve().parent.parent / "node_modules" / "bpmn-js" / "dist"
PER_PAGE = 50


def _me(session) -> User:
    """The logged-in user as an ORM row (web.current_user.me: no query)."""
    return me(session)


def _process_names(session) -> dict[str, str]:
    return {p["process_id"]: p["name"] for p in process_catalogue(session)}


@bp.get("/instances")
@login_required
def index():
    process_id = request.args.get("process_id") or None
    status = request.args.get("status") if request.args.get("status") in INSTANCE_STATUSES else None
    agency = (request.args.get("agency") or "").strip().upper()[:32] or None
    page = page_arg()
    started, date_error = started_between()
    overdue = request.args.get("overdue") == "1"
    with get_db().sessions() as session:
        user = _me(session)
        rows, total = list_instances(session, user, process_id=process_id, agency=agency, status=status, page=page,
                                     per_page=PER_PAGE, started=started, overdue=overdue)
        instances = instance_dicts(session, rows)
        names = _process_names(session)
        agencies = [a.code for a in visible_agencies(session, user, set(viewer(session, user).held))]
    return render_template("instances/index.html", instances=instances, total=total, names=names,
                           process_id=process_id, status=status, statuses=INSTANCE_STATUSES, page=page,
                           pages=max(1, -(-total // PER_PAGE)), agency=agency, agencies=agencies,
                           started_from=request.args.get("started_from", "")[:10],
                           started_to=request.args.get("started_to", "")[:10], date_error=date_error,
                           overdue=overdue)


def _day(name: str) -> tuple[dt.date | None, str | None]:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None, None
    try:
        return dt.date.fromisoformat(text), None
    except ValueError:
        return None, f"日期格式應為 YYYY-MM-DD：{text[:20]} Dates are YYYY-MM-DD: {text[:20]}"


def started_between() -> tuple[tuple[dt.date | None, dt.date | None], str | None]:
    """The `started_from`/`started_to` filter; a bad or reversed range is not applied, with the reason."""
    (first, first_error), (last, last_error) = _day("started_from"), _day("started_to")
    if first_error or last_error:
        return (None, None), first_error or last_error
    if first and last and first > last:
        return (None, None), "開始日期的起日晚於迄日 The 'from' date is after the 'to' date"
    return (first, last), None


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
            user = _me(session)
            row = visible_instance(session, user, instance_id)
            instance = instance_dict(session, row)
            manager = viewer_may_manage(session, user, row)
            page = {"process_name": _process_names(session).get(row.process_id, row.process_id),
                    "markers": diagram_markers(session, row.id), "history": timeline(session, row.id),
                    "tasks": current_tasks(session, row, manager), "may_manage": manager,
                    "evidence_packages": [{"id": e.id, "filename": e.filename, "size": e.size, "sha256": e.sha256,
                                           "retain_until": e.retain_until} for e in packages_linked(session, row)
                                          if e.destroyed_at is None]}
    except NotFound:
        abort(404)
    return render_template("instances/show.html", instance=instance, priority_labels=PRIORITY_LABELS,
                           bpmn_url=_bpmn_url(instance["process_id"], instance["version"]), **page)


@bp.get("/assets/bpmn-js/<path:filename>")
def bpmn_js_asset(filename: str):
    """The bpmn-js bundles and their CSS/fonts, straight from node_modules (nothing outside dist/)."""
    if not BPMN_JS_DIST.is_dir():
        abort(404)
    return send_from_directory(BPMN_JS_DIST, filename, max_age=3600)


from web import instance_actions  # noqa: E402,F401  (manager actions, on this blueprint)
