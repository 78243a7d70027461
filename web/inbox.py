"""The staff inbox: my tasks and my roles' claimable tasks, with tabs, filters, sorting, counts, claim/unclaim.

The task page itself (form, comments, print view) lives in web/task_page.py on the same blueprint.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.assignment import NotAllowed
from engine.models import User
from engine.runtime import NotFound, TaskNotReady, claim_task
from engine.saved_filters import filters_of
from engine.task_priority import NAMES as PRIORITY_NAMES
from engine.task_priority import PRIORITIES
from web.current_user import me
from web.extensions import get_db
from web.i18n import bi_text
from web.inbox_queries import (
    ORDERS,
    PER_PAGE,
    SORTS,
    TABS,
    InboxQuery,
    inbox_view,
    process_catalogue,
    viewer,
)
from web.paging import page_arg
from web.queries import task_dicts, visible_task
from workflows.register import WEBIR_ROLE

bp = Blueprint("inbox", __name__)

TAB_LABELS = {
    "todo": ("我的待辦", "To do"),
    "assigned": ("指派給我", "Assigned to me"),
    "claimable": ("可認領", "Claimable"),
    "completed": ("已完成", "Completed"),
    "all": ("全部", "All visible"),
}
PRIORITY_LABELS = {"urgent": ("緊急", "Urgent"), "high": ("高", "High"), "normal": ("一般", "Normal"),
                   "low": ("低", "Low")}
# Old addresses (?scope=&status=) still land on the matching tab.
LEGACY_TABS = {("mine", "ready"): "todo", ("mine", "completed"): "completed", ("all", "ready"): "all"}


def _me(session) -> User:
    """The logged-in user as an ORM row (web.current_user.me: no query)."""
    return me(session)


def _id_url(endpoint: str, name: str):
    """url_for(endpoint, name=id) for many ids: the address is built once and the id put in its place (a page
    links every row three times)."""
    marker = "2147483647"
    head, _, tail = url_for(endpoint, **{name: int(marker)}).partition(marker)
    return lambda value: f"{head}{value}{tail}"


def _choice(name: str, allowed, default: str) -> str:
    value = request.args.get(name, default)
    return value if value in allowed else default


def _date_arg(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name) or "")
    except ValueError:
        return None


def inbox_query() -> InboxQuery:
    """The inbox's tab, filters, sort and page from the query string (anything odd falls back to defaults)."""
    legacy = LEGACY_TABS.get((request.args.get("scope", "mine"), request.args.get("status", "ready")), "todo")
    tab = _choice("tab", TABS, legacy)
    sort = _choice("sort", SORTS, "completed" if tab == "completed" else "due")
    order = _choice("order", ORDERS, "desc" if sort in ("completed", "created") else "asc")
    priority = request.args.get("priority")
    return InboxQuery(tab=tab, process_id=(request.args.get("process_id") or None), due_by=_date_arg("due_by"),
                      overdue=request.args.get("overdue") in ("1", "on", "true"),
                      priority=priority if priority in PRIORITIES else None, sort=sort, order=order,
                      page=page_arg())


def query_args(spec: InboxQuery, **changes) -> dict:
    """The query string of an inbox view (defaults left out), with some values changed."""
    args = {"tab": spec.tab, "process_id": spec.process_id, "due_by": spec.due_by.isoformat() if spec.due_by else None,
            "overdue": "1" if spec.overdue else None, "priority": spec.priority, "sort": spec.sort,
            "order": spec.order}
    args.update(changes)
    return {k: v for k, v in args.items() if v not in (None, "")}


@bp.get("/")
@login_required
def index():
    spec = inbox_query()
    with get_db().sessions() as session:
        user = _me(session)
        counts, page = inbox_view(session, user, spec)
        task_url, instance_url = _id_url("inbox.task", "task_id"), _id_url("instances.show", "instance_id")
        claim_url, unclaim_url = _id_url("inbox.claim", "task_id"), _id_url("inbox.unclaim", "task_id")
        rows = [(t | {"priority": PRIORITY_NAMES[r.priority], "href": task_url(t["id"]),
                      "instance_href": instance_url(t["instance_id"]),
                      "action_href": (claim_url if r.may_claim else unclaim_url)(t["id"])}, r.may_claim, r.may_unclaim)
                for r, t in zip(page, task_dicts(session, [r.task for r in page]), strict=True)]
        processes = [p for p in process_catalogue(session) if p["is_executable"]]
        saved = [(f.id, f.name, f.query) for f in filters_of(session, user.id)]
        # Form 2 (R6.1): workflows.access.holds_role now, from the roles the inbox read already
        may_register = (user.agency_id, WEBIR_ROLE) in viewer(session, user).held
    pages = max(1, -(-counts[spec.tab] // PER_PAGE))
    return render_template("inbox/index.html", rows=rows, counts=counts, spec=spec, pages=pages,
                           tab_labels=TAB_LABELS, processes=processes, query_args=query_args,
                           here=request.full_path.rstrip("?"), saved_filters=saved, priority_labels=PRIORITY_LABELS,
                           priority_texts={key: bi_text(*label) for key, label in PRIORITY_LABELS.items()},
                           may_register=may_register)


def _safe_next(target: str | None, fallback: str) -> str:
    """Only local paths (never another site), so a posted `next` cannot redirect elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def _claim(task_id: int, claim: bool):
    """Claim or unclaim, then back to where the form was (the inbox or the task page)."""
    back = _safe_next(request.form.get("next"), url_for("inbox.task", task_id=task_id))
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
    return redirect(back, code=303)


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int):
    return _claim(task_id, True)


@bp.post("/tasks/<int:task_id>/unclaim")
@login_required
def unclaim(task_id: int):
    return _claim(task_id, False)


from web import inbox_filters, task_drafts, task_page  # noqa: E402,F401  (their routes, on this blueprint)
