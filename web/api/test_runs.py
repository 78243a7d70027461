"""Modeler test runs: start the diagram being edited on a throwaway instance (its own SQLite file and simulated
clock, engine/sandbox.py), step through its tasks with sample data, move its clock, see the path taken.
Nothing reaches the real database. Analysts and master admins only; a run is visible to its owner only."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Response, current_app, jsonify, request

from engine.assignment import KNOWN_ROLES
from engine.bundle import BundleError, ModelFile, Problem, defined_processes, parse_xml
from engine.obligation_defs import DEFINITIONS_FILE
from engine.sandbox import RunNotFound, TestRun, create_run
from engine.specs import check_files, latest_files
from web.api import bp, openapi
from web.api.errors import ApiError, bad_request
from web.api.modeler import _deployer, _uploaded
from web.api.params import json_body, optional
from web.extensions import get_db

FOLDER = "test-runs"


def _folder() -> Path:
    return Path(current_app.instance_path) / FOLDER


def _run(run_id: str) -> TestRun:
    with get_db().sessions() as session:
        owner = _deployer(session).username
    try:
        return TestRun.open(_folder(), run_id, owner)
    except (RunNotFound, OSError, ValueError, KeyError):
        raise ApiError(404, "not_found", f"test run '{run_id}' not found (ended or expired)") from None


def _state(run: TestRun, status: int = 200) -> Response:
    try:
        response = jsonify(run.state())
    finally:
        run.close()
    response.status_code = status
    return response


def _start_data() -> dict:
    raw = request.form.get("data") or "{}"
    try:
        data = json.loads(raw)
    except ValueError:
        raise bad_request("data 必須是 JSON 物件 'data' must be a JSON object",
                          {"fields": {"data": "invalid JSON"}}) from None
    if not isinstance(data, dict):
        raise bad_request("data 必須是 JSON 物件 'data' must be a JSON object", {"fields": {"data": "not an object"}})
    return data


def _sandbox_files(files: list[ModelFile]) -> list[ModelFile]:
    """The edited files, what they inherit, and the rule files of the latest deployment (not the calendar)."""
    with get_db().sessions() as session:
        bundle, _parsed = check_files(session, files, set(KNOWN_ROLES))
        rules = [ModelFile(name, row.content.encode()) for name, row in latest_files(session).items()
                 if name.endswith(".json") and name not in bundle.files and name != DEFINITIONS_FILE]
    return bundle.all_files() + rules


@bp.post("/test-runs")
def test_run_create() -> Response:
    """Start a test run: multipart `files` (the edited BPMN, optionally forms), `process_id`, optional `data`."""
    with get_db().sessions() as session:
        owner = _deployer(session).username
    files, data = _uploaded(), _start_data()
    process_id = (request.form.get("process_id") or "").strip()
    if not process_id:
        raise bad_request("請指定流程 Name the process to run ('process_id')", {"fields": {"process_id": "required"}})
    run_files = _sandbox_files(files)
    defined = {pid for f in files if f.kind == "bpmn" for pid in defined_processes(parse_xml(f))}
    if process_id not in defined:
        raise BundleError([Problem("", process_id, f"the files do not define process '{process_id}'")])
    run = create_run(_folder(), owner, run_files, process_id, set(KNOWN_ROLES), data)
    return _state(run, 201)


@bp.get("/test-runs/<run_id>")
def test_run_get(run_id: str) -> Response:
    """The run: clock, status, ready tasks (form, sample data), the path taken, its history."""
    return _state(_run(run_id))


@bp.post("/test-runs/<run_id>/tasks/<int:task_id>/complete")
def test_run_complete(run_id: str, task_id: int) -> Response:
    """Complete a ready task of the run with `{data}` (as the run's holder of the task's role)."""
    body = json_body()
    data = optional(body, "data", dict, "an object") or {}
    run = _run(run_id)
    try:
        run.complete(task_id, data)
    finally:
        run.close()
    return _state(run)


@bp.post("/test-runs/<run_id>/clock")
def test_run_clock(run_id: str) -> Response:
    """Move the run's own clock: `{"advance": "P7D"}`; its timers fire on the way."""
    advance = (optional(json_body(), "advance", str, "an ISO 8601 duration") or "").strip()
    run = _run(run_id)
    try:
        run.advance(advance)
    except ValueError as exc:
        raise bad_request(str(exc), {"fields": {"advance": "an ISO 8601 duration such as P7D or PT4H"}}) from None
    finally:
        run.close()
    return _state(run)


@bp.delete("/test-runs/<run_id>")
def test_run_delete(run_id: str) -> Response:
    """End the run: its file is removed."""
    _run(run_id).discard()
    return Response(status=204)


def _paths() -> dict:
    o = openapi
    rid = {**o._path_id("run_id"), "schema": o.STR}
    state = o._obj({"id": o.STR, "process_id": o.STR, "clock": o.TIME, "status": o.STR, "error": o.NULL_STR,
                    "ready_tasks": o._array({"type": "object"}), "path": o._array(o.STR),
                    "history": o._array({"type": "object"})})
    upload = {"multipart/form-data": {"schema": o._obj({"files": o._array({"type": "string", "format": "binary"}),
                                                        "process_id": o.STR, "data": o.STR}, ("files", "process_id"))}}
    return {
        "/test-runs": {"post": o._op("Start a throwaway test run of edited files (analyst, master_admin)", "201",
                                     state, errors=("400", "403", "422"), body=upload)},
        "/test-runs/{run_id}": {
            "get": o._op("A test run's state", "200", state, errors=("404",), params=[rid]),
            "delete": o._op("End a test run", "204", None, errors=("404",), params=[rid])},
        "/test-runs/{run_id}/tasks/{task_id}/complete": {
            "post": o._op("Complete a task of a test run", "200", state, errors=("404", "409", "422"),
                          params=[rid, o._path_id("task_id")])},
        "/test-runs/{run_id}/clock": {
            "post": o._op("Advance a test run's own clock", "200", state, errors=("400", "404"), params=[rid])},
    }


openapi.EXTRA_PATHS.append(_paths)
