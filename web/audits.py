"""The corrective-action items page (追蹤項目, R8.2): open items of master-agency audits, overdue first to see.

Master-agency roles see every agency; others see their own and the agencies theirs commissioned.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from engine import clock
from engine.assignment import visible_agencies
from engine.calendar import local_date
from engine.models import User
from web.extensions import get_db
from web.paging import page_arg
from workflows.corrective_actions import FOLLOWERS, STATUSES, list_items
from workflows.org import roles_of

bp = Blueprint("audits", __name__)
PER_PAGE = 50
STATUS_LABELS = {"open": ("未結案", "Open"), "closed": ("已結案", "Closed"), "all": ("全部", "All")}


@bp.get("/corrective-actions")
@login_required
def corrective_actions():
    """Items by agency and status; an agency you may not see shows all of yours (never another's)."""
    status = request.args.get("status") if request.args.get("status") in STATUSES else "open"
    page = page_arg()
    with get_db().sessions() as session:
        me = session.get(User, current_user.id)
        if not set(FOLLOWERS) & set(roles_of(session, me)):
            abort(403)
        visible = visible_agencies(session, me)
        code = (request.args.get("agency") or "").upper()
        chosen = [a for a in visible if a.code == code] or visible
        items, total = list_items(session, [a.id for a in chosen], status, local_date(clock.now()),
                                  (page - 1) * PER_PAGE, PER_PAGE)
        agencies = [(a.code, a.name) for a in visible]
    return render_template("audits/corrective_actions.html", items=items, total=total, status=status,
                           labels=STATUS_LABELS, agencies=agencies,
                           agency=chosen[0].code if code and len(chosen) == 1 else None, page=page,
                           pages=max(1, -(-total // PER_PAGE)))
