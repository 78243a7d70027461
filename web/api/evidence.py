"""The evidence store over the API: keep a file, list, download (hash-checked), legal hold."""

from __future__ import annotations

from flask import Response, jsonify, request
from sqlalchemy import select

from engine import evidence
from engine.assignment import holds_master_role, visible_agencies
from engine.models import EvidenceFile
from engine.settings import instance_path
from web.api import bp, openapi
from web.api.auth import api_user, require_role
from web.api.errors import ApiError, bad_request
from web.api.params import json_body
from web.extensions import get_db
from web.queries import iso
from workflows.evidence_package import PackageInvalid, verify_package
from workflows.models_disposition import RecordKind
from workflows.org import roles_of
from workflows.records_disposition import DispositionError, set_legal_hold

KEEPERS = ("agency_admin", "agency_audit", "unit_admin", "master_admin", "master_audit")
HOLDERS = ("agency_admin", "agency_audit", "master_audit", "master_admin")  # legal hold (R7.4 disposition)


def _dict(row: EvidenceFile) -> dict:
    return {"id": row.id, "sha256": row.sha256, "filename": row.filename, "size": row.size,
            "content_type": row.content_type, "retention_class": row.retention_class,
            "retain_until": row.retain_until.isoformat() if row.retain_until else None,
            "legal_hold": row.legal_hold, "hold_reason": row.hold_reason, "stored_at": iso(row.stored_at),
            "stored_by": row.stored_by, "destroyed_at": iso(row.destroyed_at), "destroyed_by": row.destroyed_by}


def _visible(session, user, evidence_id: int) -> EvidenceFile:
    row = session.get(EvidenceFile, evidence_id)
    allowed = {a.id for a in visible_agencies(session, user)}
    if row is None or (row.agency_id not in allowed and not holds_master_role(session, user.id)):
        raise ApiError(404, "not_found", f"找不到證據 Evidence {evidence_id} not found")
    return row


@bp.post("/evidence")
def evidence_store() -> Response:
    """Keep a file (multipart `file`, `retention_class`) for the caller's agency; 201 with its record."""
    upload = request.files.get("file")
    if upload is None:
        raise bad_request("請上傳檔案 Send the file in the multipart field 'file'")
    with get_db().transaction() as session:
        user = api_user(session)
        require_role(session, user, *KEEPERS)
        try:
            row = evidence.store(session, instance_path(), upload.read(), upload.filename or "file",
                                 request.form.get("retention_class", "other"), user.username, user.agency_id,
                                 upload.mimetype or "application/octet-stream")
        except evidence.EvidenceError as exc:
            raise ApiError(422, "invalid_evidence", str(exc)) from None
        return jsonify(_dict(row)), 201


@bp.get("/evidence")
def evidence_list() -> Response:
    """Evidence of the agencies the caller may see, newest first."""
    with get_db().sessions() as session:
        user = api_user(session)
        agencies = [a.id for a in visible_agencies(session, user)]
        rows = session.scalars(select(EvidenceFile).where(EvidenceFile.agency_id.in_(agencies))
                               .order_by(EvidenceFile.id.desc()).limit(500))
        return jsonify([_dict(r) for r in rows])


@bp.get("/evidence/<int:evidence_id>/content")
def evidence_content(evidence_id: int) -> Response:
    """The file itself, after checking it still matches its SHA-256."""
    with get_db().sessions() as session:
        row = _visible(session, api_user(session), evidence_id)
        try:
            content = evidence.read(instance_path(), row)
        except evidence.EvidenceError as exc:
            raise ApiError(409, "evidence_unavailable", str(exc)) from None
        return Response(content, mimetype=row.content_type,
                        headers={"Content-Disposition": f'attachment; filename="{row.sha256}"'})


@bp.post("/evidence/<int:evidence_id>/hold")
def evidence_hold(evidence_id: int) -> Response:
    """Put under legal hold (`{"hold": true, "reason": ...}`) or release; audit teams and master admin."""
    body = json_body()
    reason = str(body.get("reason") or "").strip()
    if not isinstance(body.get("hold"), bool) or not reason:
        raise bad_request("請提供 hold (true/false) 與 reason Send 'hold' (boolean) and a 'reason'")
    with get_db().transaction() as session:
        user = api_user(session)
        row = _visible(session, user, evidence_id)
        if not set(HOLDERS) & set(roles_of(session, user)):
            raise ApiError(403, "forbidden", f"需要角色 Needs one of the roles: {', '.join(HOLDERS)}")
        try:  # the hold also shows at once on a disposition list awaiting approval
            set_legal_hold(session, RecordKind.EVIDENCE_FILE, row, body["hold"], reason, user.username)
        except DispositionError as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        return jsonify(_dict(row))


@bp.get("/evidence/<int:evidence_id>/verify")
def evidence_verify(evidence_id: int) -> Response:
    """Check an evidence package: the ZIP against its SHA-256, each member against the manifest (R8.1.5)."""
    with get_db().sessions() as session:
        row = _visible(session, api_user(session), evidence_id)
        try:
            check = verify_package(instance_path(), row)
        except PackageInvalid as exc:
            raise ApiError(422, "not_a_package", str(exc)) from None
        return jsonify({"id": row.id, "sha256": row.sha256, "ok": check.ok, "files_checked": check.files_checked,
                        "problems": check.problems, "manifest": check.manifest})


def _paths() -> dict:
    """OpenAPI paths of this module (the package check; the store's other paths are documented elsewhere)."""
    o = openapi
    check = o._obj({"id": o.INT, "sha256": o.STR, "ok": o.BOOL, "files_checked": o.INT,
                    "problems": o._array(o.STR), "manifest": {"type": "object"}})
    return {"/evidence/{evidence_id}/verify": {"get": o._op(
        "Verify an evidence package against its SHA-256 manifest (R8.1.5)", "200", check, errors=("404", "422"),
        params=[o._path_id("evidence_id")])}}


openapi.EXTRA_PATHS.append(_paths)
