"""The managers' dashboard: where every compliance obligation of the agencies you may see stands."""

from __future__ import annotations

import collections

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from engine import clock, obligations
from engine.assignment import visible_agencies
from engine.models import User
from web.extensions import get_db

bp = Blueprint("dashboard", __name__)
STATUS_ORDER = ("late", "missed", "open", "done", "scheduled")


@bp.get("/dashboard")
@login_required
def index():
    """Counts by status, then the late and missed periods first, then the open ones (R8.1, R7.4, R5.6)."""
    with get_db().sessions() as session:
        agencies = visible_agencies(session, session.get(User, current_user.id))
        code = (request.args.get("agency") or "").upper()
        if code:
            agencies = [a for a in agencies if a.code == code] or agencies
        rows = [obligations.period_dict(s) | {"title": s.obligation.title}
                for s in obligations.period_statuses(session, agencies)]
    counts = collections.Counter(r["status"] for r in rows)
    attention = sorted((r for r in rows if r["status"] in ("late", "missed", "open")),
                       key=lambda r: (STATUS_ORDER.index(r["status"]), r["due_at"]))
    upcoming = [r for r in rows if r["status"] == "scheduled"][:20]
    return render_template("dashboard/index.html", counts=counts, attention=attention, upcoming=upcoming,
                           statuses=STATUS_ORDER, agencies=agencies, now=clock.now(),
                           simulated=clock.current().simulated)
