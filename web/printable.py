"""Printable forms: Form 1-1, 1-2 and 3 as print-ready A4 pages, for whoever may see their process instance."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from engine import clock
from engine.assignment import can_see_instance
from engine.models import User
from web.extensions import get_db
from web.printable_sheets import KINDS, dual_date

bp = Blueprint("printable", __name__)


@bp.get("/forms/<kind>/<int:record_id>")
@login_required
def show(kind: str, record_id: int):
    """One filed form; 404 for an unknown form and for a form whose instance the user may not see."""
    if kind not in KINDS:
        abort(404)
    model, build = KINDS[kind]
    with get_db().sessions() as session:
        record = session.get(model, record_id)
        if record is None or not can_see_instance(session, session.get(User, current_user.id), record.instance_id):
            abort(404)
        sheet = build(session, record)
    sheet.printed_at = dual_date(clock.now())
    return render_template("printable/form.html", sheet=sheet)


@bp.app_template_global("printable_forms")
def printable_forms(instance_id: int) -> list[dict]:
    """The printable forms an instance filed, `{url, title}` each, for links on the instance page."""
    found = []
    with get_db().sessions() as session:
        for kind, (model, _build) in KINDS.items():
            for record_id in session.scalars(select(model.id).where(model.instance_id == instance_id)):
                found.append({"url": url_for("printable.show", kind=kind, record_id=record_id),
                              "title": f"表 {kind} Form {kind}"})
    return found
