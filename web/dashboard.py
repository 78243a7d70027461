"""The managers' dashboard: where every compliance obligation of the agencies you may see stands.

Master-agency roles see every agency; others see their own and the agencies theirs commissioned
(engine.assignment.visible_agencies). Late and missed periods come first; every period links to its instance.
"""

from __future__ import annotations

import collections

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from engine import clock, obligations
from engine.assignment import visible_agencies
from engine.calendar import local_date
from engine.models import User
from web.compliance_chart import chart_data
from web.compliance_grid import (
    CELL_KEYS,
    STATUS_ICONS,
    STATUS_LABELS,
    STATUS_ORDER,
    agency_grids,
    attention_list,
)
from web.extensions import get_db
from workflows.corrective_actions import open_counts
from workflows.open_findings import open_findings

bp = Blueprint("dashboard", __name__)
MONTHS = tuple(range(1, 13))
MAX_GRIDS = 12  # more agencies than this: the summary table, and one agency's grid at a time


def _year(default: int) -> int:
    value = request.args.get("year", "")
    return int(value) if value.isdigit() and 2000 <= int(value) <= 2100 else default


@bp.get("/dashboard")
@login_required
def index():
    """Counts by status, the late and missed periods first, then the calendar grid per agency (R8.1, R7.4, R5.6)."""
    today = local_date(clock.now())
    year = _year(today.year)
    with get_db().sessions() as session:
        visible = visible_agencies(session, session.get(User, current_user.id))
        code = (request.args.get("agency") or "").upper()
        chosen = [a for a in visible if a.code == code] or visible  # an agency you may not see: all of yours
        statuses = obligations.period_statuses(session, chosen)
        defs = obligations.definitions(session).obligations
        order = [o.id for o in defs]
        agencies = [(a.code, a.name, a.approved_on) for a in visible]
        found = open_findings(session, [a.id for a in chosen])
        findings = [(a.code, a.name, found[a.id]) for a in chosen if a.id in found]
        items = open_counts(session, [a.id for a in chosen], today)
        actions = [(a.code, a.name, *items[a.id]) for a in chosen if a.id in items]  # R8.2 追蹤項目
    grids = agency_grids(statuses, year, order)
    chart = chart_data(statuses, year, {o.id: o.title for o in defs}, {code: name for code, name, _ in agencies})
    counts = collections.Counter(s.status for s in statuses)
    return render_template(
        "dashboard/index.html", counts=counts, attention=attention_list(statuses), grids=grids,
        show_grids=grids if len(grids) <= MAX_GRIDS else [], statuses=STATUS_ORDER, labels=STATUS_LABELS,
        cell_keys=CELL_KEYS, chart=chart, findings=findings, actions=actions,
        icons=STATUS_ICONS, agencies=agencies, agency=chosen[0].code if code and len(chosen) == 1 else None, year=year,
        months=MONTHS, now=clock.now(), simulated=clock.current().simulated,
        upcoming=[obligations.period_dict(s) | {"title": s.obligation.title} for s in statuses
                  if s.status == "scheduled"][:20], this_month=(today.year, today.month),
    )
