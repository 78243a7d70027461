"""Records disposition over the API (R7.1-R7.4): legal holds on Form 1-2 and evidence, and the disposition record."""

from __future__ import annotations

from flask import Response, jsonify, request
from sqlalchemy import select

from engine.assignment import holds_master_role, visible_agencies
from engine.models import Agency, EvidenceFile
from web.api import bp, openapi
from web.api.auth import api_user
from web.api.errors import ApiError, bad_request
from web.api.params import json_body
from web.extensions import get_db
from web.queries import iso
from workflows.access import holds_role
from workflows.models import AccountApplication
from workflows.models_disposition import DispositionItem, RecordKind
from workflows.records_disposition import HOLD_ROLES, DispositionError, may_hold, set_legal_hold

READERS = ("agency_admin", "agency_audit", "agency_head", "unit_admin")


def _record(session, user, kind: str, record_id: int):
    """The record if the caller may see its agency (else 404)."""
    model = AccountApplication if kind == RecordKind.APPLICATION_FORM else EvidenceFile
    row = session.get(model, record_id)
    if row is None or row.agency_id not in {a.id for a in visible_agencies(session, user)}:
        raise ApiError(404, "not_found", f"找不到紀錄 Record {kind} {record_id} not found")
    return row


def _may(session, user, agency_id: int, roles: tuple[str, ...]) -> bool:
    return holds_master_role(session, user.id) or any(holds_role(session, user.id, agency_id, r) for r in roles)


def hold_record(kind: str, record_id: int) -> Response:
    """Set (`{"hold": true, "reason": ...}`) or clear a legal hold; the agency's admin or audit team, or a master
    role. Returns the record's hold state."""
    body = json_body()
    reason = str(body.get("reason") or "").strip()
    if not isinstance(body.get("hold"), bool) or not reason:
        raise bad_request("請提供 hold (true/false) 與 reason Send 'hold' (boolean) and a 'reason'")
    with get_db().transaction() as session:
        user = api_user(session)
        row = _record(session, user, kind, record_id)
        if not may_hold(session, user.id, row.agency_id):
            raise ApiError(403, "forbidden", f"需要角色 Needs one of the roles: {', '.join(HOLD_ROLES)}, master_audit")
        try:
            set_legal_hold(session, kind, row, body["hold"], reason, user.username)
        except DispositionError as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        return jsonify({"record_kind": kind, "record_id": row.id, "legal_hold": row.legal_hold,
                        "hold_reason": row.hold_reason})


@bp.post("/account-applications/<int:application_id>/hold")
def application_hold(application_id: int) -> Response:
    """Legal hold on a filed Form 1-2 (R7.2): a held form is never destroyed by a disposition."""
    return hold_record(RecordKind.APPLICATION_FORM, application_id)


def _item(row: DispositionItem) -> dict:
    return {"id": row.id, "instance_id": row.instance_id, "record_kind": row.record_kind, "record_id": row.record_id,
            "what": row.description, "retention_class": row.retention_class,
            "retain_until": row.retain_until.isoformat(), "status": row.status, "hold_reason": row.hold_reason,
            "listed_at": iso(row.listed_at), "destroyed_at": iso(row.destroyed_at), "destroyed_by": row.destroyed_by,
            "sha256": row.sha256, "note": row.note}


@bp.get("/dispositions")
def dispositions() -> Response:
    """The disposition lists and records of an agency (`?agency=CODE`, default one's own; `?instance_id=`)."""
    with get_db().sessions() as session:
        user = api_user(session)
        visible = {a.code: a.id for a in visible_agencies(session, user)}
        code = (request.args.get("agency") or "").upper()
        agency_id = visible.get(code) if code else user.agency_id
        if agency_id is None or (code and session.scalar(select(Agency.id).where(Agency.code == code)) is None):
            raise ApiError(404, "not_found", f"找不到機關 Agency {code} not found")
        if not _may(session, user, agency_id, READERS):
            raise ApiError(403, "forbidden", f"需要角色 Needs one of the roles: {', '.join(READERS)}")
        query = select(DispositionItem).where(DispositionItem.agency_id == agency_id)
        if request.args.get("instance_id", "").isdigit():
            query = query.where(DispositionItem.instance_id == int(request.args["instance_id"]))
        rows = session.scalars(query.order_by(DispositionItem.id.desc()).limit(1000))
        return jsonify([_item(r) for r in rows])


def _paths() -> dict:
    o = openapi
    hold = {"application/json": {"schema": o._obj({"hold": o.BOOL, "reason": o.STR})}}
    return {
        "/account-applications/{application_id}/hold": {"post": o._op(
            "Set or clear a legal hold on a filed Form 1-2 (R7.2)", "200", {"type": "object"},
            errors=("403", "404", "409"), params=[o._path_id("application_id")], body=hold)},
        "/dispositions": {"get": o._op(
            "Records disposition lists and records: what, when, who, SHA-256 (R7.4)", "200",
            o._array({"type": "object"}), errors=("403", "404"),
            params=[o._query("agency", o.STR), o._query("instance_id", o.INT)])},
    }


openapi.EXTRA_PATHS.append(_paths)
