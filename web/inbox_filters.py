"""Saved inbox filters: save the current view under a name, delete one (CSRF-protected forms, audited in
engine/saved_filters.py). Routes on the inbox blueprint."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from engine.runtime import NotFound
from engine.saved_filters import FilterInvalid, delete_filter, save_filter
from web.extensions import get_db
from web.inbox import bp

QUERY_KEYS = ("tab", "process_id", "due_by", "overdue", "priority", "sort", "order")
MAX_VALUE_CHARS = 200


def posted_query() -> dict[str, str]:
    """The inbox view being saved: only the inbox's own query keys (the page re-checks every value on use)."""
    return {key: value[:MAX_VALUE_CHARS] for key in QUERY_KEYS if (value := (request.form.get(key) or "").strip())}


@bp.post("/inbox/filters")
@login_required
def save_inbox_filter():
    query = posted_query()
    try:
        save_filter(get_db(), current_user.id, request.form.get("name"), query)
    except FilterInvalid as exc:
        flash(str(exc), "error")
    else:
        flash("已保存篩選條件 Filter saved", "success")
    return redirect(url_for("inbox.index", **query), code=303)


@bp.post("/inbox/filters/<int:filter_id>/delete")
@login_required
def delete_inbox_filter(filter_id: int):
    try:
        delete_filter(get_db(), current_user.id, filter_id)
    except NotFound:
        abort(404)
    flash("已刪除篩選條件 Filter deleted", "success")
    return redirect(url_for("inbox.index"), code=303)
