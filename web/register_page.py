"""The query register, Form 2 (R6.1): a WebIR user records each query here and sees their own entries.

A repeat entry takes two clicks: the form opens prefilled from the user's last entry (case, purpose, subject,
item, proxy authorisation) with the time set to now. Entries are the user's own agency's only; a query made
for someone else names the proxy authorisation (Form 3, R6.2) in force for that case.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from engine import clock
from engine.calendar import local_date
from engine.models import User
from web.extensions import get_db
from workflows.access import holds_role
from workflows.models_accounts import ProxyAuthorization
from workflows.models_records import RegisterEntry
from workflows.register import WEBIR_ROLE, RegisterError, record_entry

bp = Blueprint("register", __name__)

LISTED = 50
FIELDS = ("case_number", "query_time", "purpose", "subject_id", "query_item", "proxy_authorization")


def _own_entries(session, user: User) -> list[RegisterEntry]:
    return list(session.scalars(select(RegisterEntry).where(
        RegisterEntry.agency_id == user.agency_id, RegisterEntry.recorded_by == user.username)
        .order_by(RegisterEntry.id.desc()).limit(LISTED)))


def _proxies(session, user: User) -> list[ProxyAuthorization]:
    """Filed Form 3 authorisations naming this user as proxy, not yet expired."""
    return list(session.scalars(select(ProxyAuthorization).where(
        ProxyAuthorization.agency_id == user.agency_id, ProxyAuthorization.proxy_user_id == user.id,
        ProxyAuthorization.status == "filed", ProxyAuthorization.withdrawn_at.is_(None),
        ProxyAuthorization.valid_until >= local_date(clock.now())).order_by(ProxyAuthorization.id.desc())))


def _prefill(last: RegisterEntry | None) -> dict:
    """A repeat of the last entry, now."""
    now = clock.now().astimezone(clock.zone()).strftime("%Y-%m-%dT%H:%M:%S")
    if last is None:
        return {"query_time": now}
    return {"case_number": last.case_number, "purpose": last.purpose, "subject_id": last.subject_id or "",
            "query_item": last.query_item or "", "query_time": now,
            "proxy_authorization": str(last.proxy_authorization_id or "")}


def _page(values: dict | None = None, errors: dict | None = None, message: str = "", status: int = 200):
    with get_db().sessions() as session:
        user = session.get(User, current_user.id)
        entries = _own_entries(session, user)
        may_record = holds_role(session, user.id, user.agency_id, WEBIR_ROLE)
        proxies = [(p.id, p.case_number, session.get(User, p.authorising_user_id).display_name, p.valid_until)
                   for p in _proxies(session, user)]
        page = render_template("register/index.html", entries=entries, may_record=may_record, proxies=proxies,
                               values=values if values is not None else _prefill(entries[0] if entries else None),
                               errors=errors or {}, message=message, agency=user.agency)
    return page, status


@bp.get("/register")
@login_required
def index():
    return _page()


@bp.post("/register")
@login_required
def record():
    values = {name: (request.form.get(name) or "").strip() for name in FIELDS}
    proxy = values.pop("proxy_authorization")
    if proxy and not proxy.isdigit():
        return _page({**values, "proxy_authorization": proxy}, {"proxy_authorization": "請選擇 Choose one"},
                     status=422)
    with get_db().transaction() as session:
        user = session.get(User, current_user.id)
        if not holds_role(session, user.id, user.agency_id, WEBIR_ROLE):
            abort(403)
        try:
            entry = record_entry(session, user.agency, user, {**values, "query_time": _aware(values["query_time"])},
                                 source="web", proxy_authorization=int(proxy) if proxy else None)
        except RegisterError as exc:
            session.rollback()
            fields = {("query_time" if k == "query_date" else k): v for k, v in exc.fields.items()}
            return _page({**values, "proxy_authorization": proxy}, fields, str(exc), 422)
        entry_id = entry.id
    flash(f"已登記 Recorded (#{entry_id})", "success")
    return redirect(url_for("register.index"), code=303)


def _aware(text: str) -> str:
    """A datetime-local value read in Asia/Taipei (the register keeps aware times)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text  # record_entry names the field and the reason
    return (moment if moment.tzinfo else moment.replace(tzinfo=clock.zone())).isoformat()
