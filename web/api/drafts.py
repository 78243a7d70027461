"""Modeler drafts kept on the server (per analyst and process) and the catalogue the properties panel picks
from: deployed process ids (call activities), message names and DMN decision ids."""

from __future__ import annotations

from flask import Response, jsonify

from engine.bundle import BundleError, ModelFile, defined_decisions, parse_xml
from engine.drafts import DraftTooLarge, drop_draft, get_draft, save_draft
from engine.models import ModelDraft
from engine.specs import latest_files, latest_versions
from web.api import bp, openapi
from web.api.errors import ApiError, bad_request
from web.api.modeler import _deployer
from web.api.params import json_body, optional
from web.extensions import get_db
from web.queries import iso

BPMN_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


def _draft_dict(draft: ModelDraft) -> dict:
    return {"process_id": draft.process_id, "base_version": draft.base_version, "saved_at": iso(draft.saved_at),
            "bpmn": draft.bpmn}


@bp.get("/process-models/<process_id>/draft")
def draft_get(process_id: str) -> Response:
    """My draft of this process (404 when I have none)."""
    with get_db().sessions() as session:
        draft = get_draft(session, _deployer(session), process_id)
        if draft is None:
            raise ApiError(404, "not_found", f"no draft of '{process_id}'")
        return jsonify(_draft_dict(draft))


@bp.put("/process-models/<process_id>/draft")
def draft_put(process_id: str) -> Response:
    """Save my draft: `{bpmn, base_version?}` (replaces the previous one)."""
    body = json_body()
    bpmn = optional(body, "bpmn", str, "the BPMN XML text") or ""
    base = optional(body, "base_version", int, "a version number")
    if not bpmn.strip():
        raise bad_request("請提供 BPMN 內容 Send the diagram as 'bpmn'", {"fields": {"bpmn": "required"}})
    if "\x00" in bpmn or "\x00" in process_id:
        raise bad_request("不可包含 NUL 字元 NUL characters are not allowed", {"fields": {"bpmn": "NUL"}})
    with get_db().transaction() as session:
        try:
            draft = save_draft(session, _deployer(session), process_id, bpmn, base)
        except DraftTooLarge as exc:
            raise ApiError(413, "too_large", str(exc)) from None
        return jsonify(_draft_dict(draft))


@bp.delete("/process-models/<process_id>/draft")
def draft_delete(process_id: str) -> Response:
    """Discard my draft (204; 404 when there was none)."""
    with get_db().transaction() as session:
        if not drop_draft(session, _deployer(session), process_id):
            raise ApiError(404, "not_found", f"no draft of '{process_id}'")
    return Response(status=204)


def _names(f: ModelFile) -> tuple[set[str], set[str]]:
    """Message names of a BPMN file, decision ids of a DMN file (a file that does not parse names none)."""
    try:
        root = parse_xml(f)
    except BundleError:
        return set(), set()
    if f.kind == "bpmn":
        return {m.get("name") or m.get("id") or "" for m in root.iterfind("bpmn:message", BPMN_NS)}, set()
    return set(), defined_decisions(root) if f.kind == "dmn" else set()


@bp.get("/process-models/catalog")
def model_catalog() -> Response:
    """What the properties panel offers: deployed processes, message names, DMN decision ids."""
    with get_db().sessions() as session:
        _deployer(session)
        processes = [{"process_id": v.process_id, "name": v.name} for v in latest_versions(session)]
        messages, decisions = set(), set()
        for name, row in latest_files(session).items():
            found_messages, found_decisions = _names(ModelFile(name, row.content.encode()))
            messages |= found_messages
            decisions |= found_decisions
        return jsonify({"processes": sorted(processes, key=lambda p: p["process_id"]),
                        "messages": sorted(m for m in messages if m), "decisions": sorted(decisions)})


def _paths() -> dict:
    o = openapi
    pid = {**o._path_id("process_id"), "schema": o.STR}
    draft = o._obj({"process_id": o.STR, "base_version": {"type": ["integer", "null"]}, "saved_at": o.TIME,
                    "bpmn": o.STR})
    catalog = o._obj({"processes": o._array({"type": "object"}), "messages": o._array(o.STR),
                      "decisions": o._array(o.STR)})
    return {
        "/process-models/{process_id}/draft": {
            "get": o._op("My server-side draft of a process (analyst, master_admin)", "200", draft,
                         errors=("403", "404"), params=[pid]),
            "put": o._op("Save my draft of a process", "200", draft, errors=("403", "413"), params=[pid]),
            "delete": o._op("Discard my draft", "204", None, errors=("403", "404"), params=[pid])},
        "/process-models/catalog": {
            "get": o._op("Deployed process ids, message names and DMN decision ids (pickers)", "200", catalog,
                         errors=("403",))},
    }


openapi.EXTRA_PATHS.append(_paths)
