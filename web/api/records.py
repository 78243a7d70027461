"""Query records over the API: query-log and register uploads, register entries, reconciliation runs."""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from pathlib import Path

from flask import Response, current_app, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.assignment import visible_agencies
from engine.models import Agency, User
from web.api import bp, openapi
from web.api.auth import api_user, require_role
from web.api.errors import ApiError, bad_request
from web.api.jobs import accepted_answer, respond_with_job
from web.api.params import json_body, optional, paging
from web.extensions import get_db
from web.jobs import job_queue
from workflows.models_records import ReconciliationFinding, ReconciliationRun
from workflows.org import roles_of
from workflows.record_jobs import import_params, reconcile_params
from workflows.record_settings import per_record_method, set_per_record_method
from workflows.register import NotAWebIRUser, RegisterError, record_entry

# Who may load files and reconcile: the agency admin downloads logs (R8.1.1), unit admins check (R3.3),
# the audit teams verify (R3.5, R2.3).
RECORD_KEEPERS = ("agency_admin", "unit_admin", "agency_audit", "master_admin", "master_audit")


def _agency(session: Session, user: User, code: str | None) -> Agency:
    """The named agency (default: the caller's) if the caller may see it; else 404."""
    wanted = (code or "").strip().upper()
    for agency in visible_agencies(session, user):
        if agency.code == wanted or (not wanted and agency.id == user.agency_id):
            return agency
    raise ApiError(404, "not_found", f"找不到機關 Agency '{code}' not found")


def _evidence_root() -> Path:
    return Path(current_app.instance_path)


def _upload(kind: str) -> Response:
    """Save the multipart `file` aside and import it as a background job (one transaction): 201 with what was
    taken once the job has run (202 and the job with `Prefer: respond-async`, or when it takes long)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise bad_request("請上傳檔案 Send the file as multipart field 'file'", {"fields": {"file": "required"}})
    db = get_db()
    with db.sessions() as session:
        user = api_user(session)
        require_role(session, user, *RECORD_KEEPERS)
        agency = _agency(session, user, request.form.get("agency"))
        agency_code, agency_id, username = agency.code, agency.id, user.username
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix="upload-", delete=False) as handle:
        upload.save(handle)
    params = import_params(Path(handle.name), agency_code, _evidence_root(), Path(upload.filename).name, username,
                           remove_after=True)
    try:
        job_id = job_queue().submit(kind, params, agency_id=agency_id, created_by=username)
    except Exception:
        with contextlib.suppress(FileNotFoundError):
            Path(handle.name).unlink()
        raise
    return respond_with_job(job_id)


@bp.post("/query-logs")
def query_logs_upload() -> Response:
    """Import a WebIR query-log export (R8.1.1): 201 {imported, duplicates, rejected: [{line, reason}]}."""
    return _upload("import_query_log")


@bp.post("/register-files")
def register_files_upload() -> Response:
    """Import a query-register (Form 2) file (R6.1): 201 {imported, duplicates, rejected: [{line, reason}]}."""
    return _upload("import_register")


def _entry_dict(entry) -> dict:
    return {"id": entry.id, "case_number": entry.case_number, "querier": entry.querier,
            "query_time": entry.queried_at.astimezone(clock.zone()).isoformat(), "date_only": entry.date_only,
            "purpose": entry.purpose, "subject_id": entry.subject_id or None, "query_item": entry.query_item,
            "corrects": entry.corrects_id, "withdrawn": entry.withdrawn, "recorded_by": entry.recorded_by,
            "proxy_authorization": entry.proxy_authorization_id}


@bp.post("/register-entries")
def register_entry_create() -> Response:
    """Record one Form 2 entry (R6.1) in the caller's agency; `corrects` appends a correction of an entry."""
    body = json_body()
    corrects = optional(body, "corrects", int, "an entry id")
    withdraw = bool(optional(body, "withdraw", bool, "true or false"))
    proxy = optional(body, "proxy_authorization", int, "a proxy authorisation (Form 3) id")
    form = {k: body.get(k) for k in ("case_number", "querier", "query_time", "purpose", "subject_id", "query_item")}
    with get_db().transaction() as session:
        user = api_user(session)
        agency = _agency(session, user, optional(body, "agency", str, "an agency code"))
        if agency.id != user.agency_id:
            raise ApiError(403, "forbidden", "只能登記本機關的查詢 Register queries of your own agency only")
        try:
            entry = record_entry(session, agency, user, form, source="api", corrects=corrects, withdraw=withdraw,
                                 proxy_authorization=proxy)
        except NotAWebIRUser as exc:
            raise ApiError(403, "forbidden", str(exc)) from None
        except RegisterError as exc:
            raise ApiError(422, "invalid_data", str(exc), {"fields": exc.fields}) from None
        return jsonify(_entry_dict(entry)), 201


@bp.post("/reconciliations")
def reconciliation_run() -> Response:
    """Reconcile an agency's month record by record (R3.4, R6.3, R8.1.2): counts by finding type."""
    body = json_body()
    period = optional(body, "period", str, "YYYY-MM")
    hours = optional(body, "tolerance_hours", int, "an integer number of hours")
    if not period:
        raise bad_request("'period' (YYYY-MM) is required", {"fields": {"period": "required"}})
    open_tasks = bool(optional(body, "open_tasks", bool, "true or false"))
    with get_db().sessions() as session:
        user = api_user(session)
        require_role(session, user, *RECORD_KEEPERS)
        agency = _agency(session, user, optional(body, "agency", str, "an agency code"))
        agency_code, agency_id, username = agency.code, agency.id, user.username
    try:
        params = reconcile_params(agency_code, period, dt.timedelta(hours=24 if hours is None else hours), open_tasks,
                                  username)
    except ValueError as exc:
        raise bad_request(str(exc), {"fields": {"period": str(exc)}}) from None
    return respond_with_job(job_queue().submit("reconcile", params, agency_id=agency_id, created_by=username))


@bp.get("/reconciliations/<int:run_id>/findings")
def reconciliation_findings(run_id: int) -> Response:
    """A run's findings with their explanations and reviews: the unit admin's report (R6.1, R6.5)."""
    page, per_page = paging()
    with get_db().sessions() as session:
        user = api_user(session)
        run = session.get(ReconciliationRun, run_id)
        visible = {a.id for a in visible_agencies(session, user)}
        if run is None or run.agency_id not in visible:
            raise ApiError(404, "not_found", f"找不到核對 Reconciliation {run_id} not found")
        query = select(ReconciliationFinding).where(ReconciliationFinding.run_id == run_id)
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(query.order_by(ReconciliationFinding.id).limit(per_page)
                               .offset((page - 1) * per_page))
        items = [{"id": f.id, "finding_type": f.finding_type, "log_record_id": f.log_record_id,
                  "register_entry_id": f.register_entry_id, "account": f.account,
                  "explanation": f.explanation, "explained_by": f.explained_by,
                  "explained_at": f.explained_at.isoformat() if f.explained_at else None,
                  "review_decision": f.review_decision, "reviewed_by": f.reviewed_by,
                  "explanation_instance_id": f.explanation_instance_id} for f in rows]
        return jsonify({"run_id": run.id, "period": run.period, "counts": run.counts, "items": items,
                        "total": total})


@bp.route("/agencies/<code>/record-method", methods=["GET", "PUT"])
def agency_record_method(code: str) -> Response:
    """The agency's comparison method (R3.4, R6.6): `{per_record_method: bool}`; PUT by its agency admin or the
    master admin. The per-record method makes the monthly register check skip the manual count steps."""
    body = json_body() if request.method == "PUT" else {}
    with get_db().transaction() as session:
        user = api_user(session)
        agency = _agency(session, user, code)
        if request.method == "PUT":
            require_role(session, user, "agency_admin", "master_admin")
            if agency.id != user.agency_id and "master_admin" not in roles_of(session, user):
                raise ApiError(403, "forbidden", "只能設定本機關 Set your own agency's method only")
            wanted = optional(body, "per_record_method", bool, "true or false")
            if wanted is None:
                raise bad_request("'per_record_method' (true or false) is required",
                                  {"fields": {"per_record_method": "required"}})
            set_per_record_method(session, agency, wanted, user.username)
        return jsonify({"agency": agency.code, "per_record_method": per_record_method(session, agency.id)})


def _paths() -> dict:
    """OpenAPI paths of this module."""
    o = openapi
    imported = o._obj({"imported": o.INT, "duplicates": o.INT, "rejected_total": o.INT, "file_id": o.INT,
                       "sha256": o.STR, "rejected": o._array(o._obj({"line": o.INT, "reason": o.STR}))},
                      ("imported", "rejected"))
    upload = {"multipart/form-data": {"schema": o._obj({"file": {"type": "string", "format": "binary"},
                                                        "agency": o.STR}, ("file",))}}
    entry = o._obj({k: o.STR for k in ("case_number", "querier", "query_time", "purpose", "subject_id",
                                       "query_item", "agency")} | {"corrects": o.INT, "withdraw": o.BOOL,
                                                              "proxy_authorization": o.INT},
                   ("case_number", "query_time", "purpose"))
    run = o._obj({"agency": o.STR, "period": o.STR, "tolerance_hours": o.INT, "open_tasks": o.BOOL}, ("period",))
    errors = ("403", "404", "413", "422")
    method = o._obj({"agency": o.STR, "per_record_method": o.BOOL})
    code = {"name": "code", "in": "path", "required": True, "schema": o.STR}
    paths = {
        "/query-logs": {"post": o._op("Import a WebIR query-log export (CSV/XLSX)", "201", imported,
                                      errors=errors, body=upload)},
        "/register-files": {"post": o._op("Import query-register (Form 2) entries (CSV/XLSX)", "201", imported,
                                          errors=errors, body=upload)},
        "/register-entries": {"post": o._op("Record a query-register (Form 2) entry or its correction", "201",
                                            {"type": "object"}, errors=("403", "404", "422"),
                                            body={"application/json": {"schema": entry}})},
        "/agencies/{code}/record-method": {
            "get": o._op("An agency's register comparison method (R3.4, R6.6)", "200", method, errors=("404",),
                         params=[code]),
            "put": o._op("Set it (agency admin of the agency, or master admin)", "200", method,
                         errors=("400", "403", "404"), params=[code],
                         body={"application/json": {"schema": o._obj({"per_record_method": o.BOOL})}})},
        "/reconciliations": {"post": o._op("Reconcile an agency's month record by record", "201",
                                           {"type": "object"}, errors=("403", "404"),
                                           body={"application/json": {"schema": run}})},
        "/reconciliations/{run_id}/findings": {"get": o._op(
            "A run's findings with explanations and reviews (the R6.5 report)", "200", {"type": "object"},
            errors=("404",), params=[o._path_id("run_id"), o._query("page", o.INT), o._query("per_page", o.INT)])},
    }
    for path in ("/query-logs", "/register-files", "/reconciliations"):  # background jobs (web.api.jobs)
        paths[path]["post"]["responses"]["202"] = accepted_answer()
        paths[path]["post"]["responses"]["500"] = {"description": "The job failed (see its error)",
                                                   **o._json(o._ref("Error"))}
        paths[path]["post"]["parameters"] = [{"name": "Prefer", "in": "header", "required": False,
                                              "schema": {"type": "string", "enum": ["respond-async"]}}]
    return paths


openapi.EXTRA_PATHS.append(_paths)
