"""Proxy query authorisation, Form 3 (R6.2): a user lets another user query for them within the approved scope.

The agency admin files Form 3 with its official document number; from then on register entries made by the
proxy for that case reference it (`active_proxy_authorization`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.calendar import local_date
from engine.models import User
from engine.scripts import REGISTRY, ServiceCall
from workflows.access import agency_approved_items, agency_user, granted_application, holds_role, outside
from workflows.clauses import implements
from workflows.models_accounts import ProxyAuthorization

PROCESS_ID = "proxy_query_authorization"
WEBIR_ROLE = "user"
FILED = "filed"
FORM_3_FIELDS = ("proxy_username", "case_number", "business_items", "urgency", "reason", "valid_from",
                 "valid_until", "authorisation_date")


@implements("R6.2", "R5.5")
def _problem(session: Session, agency_id: int, starter: User, proxy: User | None, data: dict) -> str:
    if not holds_role(session, starter.id, agency_id, WEBIR_ROLE):
        return "R6.2: 授權人須持有 WebIR 使用者權限 The authorising user must hold the WebIR user role"
    if proxy is None or proxy.id == starter.id:
        return "R6.2: 代查人須為本機關之其他人員 The proxy must be another user of this agency"
    if proxy.is_vendor:
        return "R5.5: 委外廠商人員不得代查 Outsourced-vendor staff may not query"
    if not holds_role(session, proxy.id, agency_id, WEBIR_ROLE):
        return "R6.2: 代查人須持有 WebIR 使用者權限 The proxy must hold the WebIR user role"
    if data.get("valid_until", "") < data.get("valid_from", ""):
        return "R6.2: 授權迄日不得早於起日 The period ends before it starts"
    application = granted_application(session, starter.id, agency_id)
    granted = list(application.business_items) if application and application.business_items else None
    beyond = outside(data.get("business_items") or [], granted, agency_approved_items(session, agency_id))
    if beyond:
        return "R6.2: 超出核准範圍 Outside the approved scope: " + ", ".join(beyond)
    return ""


def check_proxy_authorization(call: ServiceCall) -> dict:
    """Service task `check_proxy_authorization`: both hold the user role, the scope is within what was granted."""
    ctx, data = call.context, call.data
    session, agency_id = ctx.session, ctx.instance.agency_id
    starter = session.get(User, ctx.instance.started_by_id)
    proxy = agency_user(session, data.get("proxy_username"), agency_id)
    problem = _problem(session, agency_id, starter, proxy, data)
    if problem:
        return {"valid": False, "problem": problem}
    return {"valid": True, "problem": "", "proxy_id": proxy.id, "proxy_name": proxy.display_name}


def keep_proxy_authorization(call: ServiceCall) -> dict:
    """Service task `keep_proxy_authorization`: keep Form 3 as filled in (not in force until filed)."""
    ctx, data = call.context, call.data
    record = ProxyAuthorization(
        instance_id=ctx.instance.id, agency_id=ctx.instance.agency_id, authorising_user_id=ctx.instance.started_by_id,
        proxy_user_id=data["proxy_check"]["proxy_id"], case_number=data["case_number"].strip(),
        scope=list(data.get("business_items") or []), reason=data.get("reason", ""),
        urgency=data.get("urgency", "official_need"), valid_from=dt.date.fromisoformat(data["valid_from"]),
        valid_until=dt.date.fromisoformat(data["valid_until"]),
        form={k: data[k] for k in FORM_3_FIELDS if k in data}, status="submitted", submitted_at=clock.now())
    ctx.session.add(record)
    ctx.session.flush()
    return {"authorization_id": record.id}


def file_proxy_authorization(call: ServiceCall) -> dict:
    """Service task `file_proxy_authorization`: the official document number puts Form 3 in force (R6.2)."""
    ctx, data = call.context, call.data
    record = ctx.session.get(ProxyAuthorization, data["form_3_record"]["authorization_id"])
    record.status, record.official_document_number = FILED, data["official_document_number"].strip()
    record.filed_on = dt.date.fromisoformat(data["filed_on"])
    record.filed_by = ctx.actor.username if ctx.actor else None
    audit.record(ctx.session, "proxy_authorization_filed", record.filed_by, ctx.instance.id,
                 authorization_id=record.id, case_number=record.case_number,
                 official_document_number=record.official_document_number, clause="R6.2")
    return {"authorization_id": record.id, "status": FILED}


def active_proxy_authorization(session: Session, authorising_user_id: int, proxy_user_id: int, case_number: str,
                               at: dt.datetime) -> ProxyAuthorization | None:
    """The filed Form 3 under which `proxy` may query case `case_number` for `authorising user` at `at` (R6.2).

    In force when filed, not withdrawn, `at` (Asia/Taipei date) within its validity period, and both people
    held the WebIR user role of its agency at `at`. For the register: entries made under it reference its id.
    """
    day = local_date(at)
    candidates = session.scalars(select(ProxyAuthorization).where(
        ProxyAuthorization.authorising_user_id == authorising_user_id,
        ProxyAuthorization.proxy_user_id == proxy_user_id, ProxyAuthorization.case_number == case_number.strip(),
        ProxyAuthorization.status == FILED, ProxyAuthorization.withdrawn_at.is_(None),
        ProxyAuthorization.valid_from <= day, ProxyAuthorization.valid_until >= day)
        .order_by(ProxyAuthorization.id.desc()))
    for record in candidates:
        if all(holds_role(session, uid, record.agency_id, WEBIR_ROLE, at)
               for uid in (authorising_user_id, proxy_user_id)):
            return record
    return None


REGISTRY.service("check_proxy_authorization", check_proxy_authorization)
REGISTRY.service("keep_proxy_authorization", keep_proxy_authorization)
REGISTRY.service("file_proxy_authorization", file_proxy_authorization)
