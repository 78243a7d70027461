"""The modeler's form editor (live preview by the inbox's own renderer) and the obligation cadence editor
(preview of the next 12 periods). Both deploy through the REST API as a new version of the process."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

import jsonschema
from flask import abort, jsonify, render_template, request
from flask_login import login_required
from sqlalchemy import select

from engine import clock
from engine.calendar import CADENCES, add_months
from engine.forms import validate_form_data
from engine.models import DeploymentFile
from engine.obligation_defs import DEFINITIONS_FILE, DefinitionError, parse_definitions
from engine.specs import latest_versions
from engine.versions import get_version, version_files
from web.extensions import get_db
from web.forms import build_fields
from web.modeler import NOT_FORMS, _api, bp, may_deploy
from workflows.roles import ROLES

PREVIEW_PERIODS = 12
PREVIEW_MONTHS = 12 * 13  # far enough ahead for 12 yearly periods, with room


def _process_forms(session, process_id: str) -> tuple[object, list[str]]:
    version = get_version(session, process_id, None)
    if version is None:
        abort(404)
    names = [f.filename for f in version_files(session, version)
             if f.filename.endswith(".json") and f.filename.rsplit("/", 1)[-1] not in NOT_FORMS]
    return version, names


def _file_text(session, version, filename: str | None) -> str:
    row = next((f for f in version_files(session, version) if f.filename == filename), None)
    return row.content if row else ""


@bp.get("/forms")
@login_required
def form_editor():
    """Pick a process and one of its form files; edit its JSON schema beside a live preview."""
    process_id, filename = request.args.get("process"), request.args.get("file")
    with get_db().sessions() as session:
        processes = [(v.process_id, v.name) for v in latest_versions(session)]
        version, files, schema_text, ui_name, ui_text = None, [], "", None, ""
        if process_id:
            version, files = _process_forms(session, process_id)
            filename = filename if filename in files else next((f for f in files if "uischema" not in f), None)
            schema_text = _file_text(session, version, filename)
            ui_name = filename.replace(".schema.json", ".uischema.json") if filename else None
            ui_name = ui_name if ui_name in files and ui_name != filename else None
            ui_text = _file_text(session, version, ui_name)
        config = {"processId": process_id, "file": filename, "uiFile": ui_name, "canDeploy": may_deploy(),
                  "previewUrl": request.script_root + "/modeler/forms/preview",
                  "bpmnFilename": version.bpmn_filename if version else None,
                  "bpmnUrl": _api(f"process-models/{quote(process_id, safe='')}/bpmn") if process_id else None,
                  "deployUrl": _api(f"process-models/{quote(process_id, safe='')}/versions") if process_id else None}
    return render_template("modeler/forms.html", processes=processes, process_id=process_id, files=files,
                           filename=filename, schema_text=schema_text, ui_text=ui_text, config=config,
                           may_deploy=may_deploy())


def _preview_error(message: str, status: int = 400):
    return render_template("modeler/_form_preview.html", fields=[], error=message), status


@bp.post("/forms/preview")
@login_required
def form_preview():
    """The form as the inbox would render it: `{schema, ui_schema?, data?}` -> an HTML fragment."""
    body = request.get_json(silent=True)
    schema = body.get("schema") if isinstance(body, dict) else None
    if not isinstance(schema, dict):
        return _preview_error("表單結構必須是 JSON 物件 The schema must be a JSON object")
    ui_schema, data = body.get("ui_schema") or {}, body.get("data") or {}
    if not isinstance(ui_schema, dict) or not isinstance(data, dict):
        return _preview_error("ui_schema 與 data 必須是物件 ui_schema and data must be JSON objects")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return _preview_error(f"不是有效的 JSON schema Not a valid JSON schema: {exc.message}", 422)
    errors = validate_form_data(schema, data) if data else {}
    fields = build_fields(schema, ui_schema, data, errors)
    return render_template("modeler/_form_preview.html", fields=fields, error=None)


def _definitions_text(session) -> str:
    row = session.scalar(select(DeploymentFile).where(DeploymentFile.filename == DEFINITIONS_FILE)
                         .order_by(DeploymentFile.deployment_id.desc()).limit(1))
    return row.content if row else '{"obligations": []}'


@bp.get("/obligations")
@login_required
def obligations():
    """Edit the calendar definitions (cadence, opening, due date, responsible role) with a period preview."""
    with get_db().sessions() as session:
        text = _definitions_text(session)
        processes = {v.process_id: {"bpmnFilename": v.bpmn_filename,
                                    "bpmnUrl": _api(f"process-models/{quote(v.process_id, safe='')}/bpmn"),
                                    "deployUrl": _api(f"process-models/{quote(v.process_id, safe='')}/versions")}
                     for v in latest_versions(session)}
    try:
        raw = json.loads(text)
    except ValueError:
        raw = {"obligations": []}
    config = {"definitions": raw, "processes": processes, "cadences": list(CADENCES), "canDeploy": may_deploy(),
              "roles": [{"id": rid, "zh": zh, "en": en} for rid, (zh, en) in ROLES.items()],
              "previewUrl": request.script_root + "/modeler/obligations/preview", "file": DEFINITIONS_FILE}
    return render_template("modeler/obligations.html", config=config, may_deploy=may_deploy())


def _period_dict(period) -> dict:
    zone = clock.zone()
    return {"label": period.label, "first_day": period.first_day.isoformat(), "last_day": period.last_day.isoformat(),
            "opens_at": period.opens_at.astimezone(zone).isoformat(),
            "due_at": period.due_at.astimezone(zone).isoformat()}


@bp.post("/obligations/preview")
@login_required
def obligation_preview():
    """The next 12 periods of one obligation definition: `{obligation: {...}, from?: YYYY-MM-DD}`."""
    body = request.get_json(silent=True)
    raw = body.get("obligation") if isinstance(body, dict) else None
    if not isinstance(raw, dict):
        return jsonify({"error": "請提供義務定義 Send {obligation: {...}}"}), 400
    try:
        (obligation,) = parse_definitions(json.dumps({"obligations": [raw]})).obligations
        start = dt.date.fromisoformat(body.get("from") or clock.now().astimezone(clock.zone()).date().isoformat())
    except (DefinitionError, ValueError, TypeError) as exc:
        return jsonify({"error": str(exc)}), 422
    upcoming = [p for p in obligation.periods(start, add_months(start, PREVIEW_MONTHS))
                if p.due_at.astimezone(clock.zone()).date() >= start]
    return jsonify({"obligation": obligation.id, "from": start.isoformat(),
                    "periods": [_period_dict(p) for p in upcoming[:PREVIEW_PERIODS]]})
