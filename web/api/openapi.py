"""The OpenAPI 3.1 document of API v1 (public: it describes, it reveals no data)."""

from __future__ import annotations

from flask import Response, jsonify

from web.api import bp
from web.queries import INSTANCE_STATUSES, TASK_SCOPES, TASK_STATUSES

STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
TIME = {"type": ["string", "null"], "format": "date-time"}
NULL_STR, NULL_INT = {"type": ["string", "null"]}, {"type": ["integer", "null"]}
EXTRA_PATHS: list = []  # functions returning more paths, added by feature modules (web.api.records)
ERRORS = {"400": "Bad input", "401": "No or bad credentials", "403": "Not allowed",
          "404": "Not found or not visible to you"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict, required: tuple[str, ...] = ()) -> dict:
    return {"type": "object", "properties": properties, "required": list(required or properties)}


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


def _page_of(name: str) -> dict:
    return _obj({"items": _array(_ref(name)), "total": INT, "page": INT, "per_page": INT}, ("items", "total"))


def _query(name: str, schema: dict, description: str = "", required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def _path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": INT}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok: str, schema: dict | None, *, errors: tuple[str, ...] = (), params=(),
        body: dict | None = None, content: dict | None = None) -> dict:
    """One operation: its success answer plus the error answers it may give (all in the Error format)."""
    responses = {ok: {"description": "OK", **(content or (_json(schema) if schema else {}))}}
    for status in ("400", "401", *errors):
        responses[status] = {"description": ERRORS.get(status, "See the error code"), **_json(_ref("Error"))}
    op = {"summary": summary, "responses": responses}
    if params:
        op["parameters"] = list(params)
    if body:
        op["requestBody"] = {"required": True, "content": body}
    return op


def _schemas() -> dict:
    task = _obj({
        "id": INT, "instance_id": INT, "process_id": STR, "name": {**STR, "description": "BPMN element id"},
        "title": STR, "lane": NULL_STR, "role": NULL_STR, "agency": STR, "assignee": NULL_STR,
        "status": {"enum": list(TASK_STATUSES) + ["cancelled", "suspended"]}, "created_at": TIME, "due_at": TIME,
        "completed_at": TIME, "completed_by": NULL_STR,
    })
    event = _obj({"id": INT, "at": TIME, "actor": NULL_STR, "action": STR, "instance_id": NULL_INT,
                  "task_id": NULL_INT, "status_before": NULL_STR,
                  "status_after": NULL_STR, "detail": {"type": "object"}})
    instance = _obj({
        "id": INT, "process_id": STR, "version": INT, "agency": STR,
        "status": {"enum": list(INSTANCE_STATUSES)}, "started_at": TIME, "ended_at": TIME,
        "started_by": NULL_STR, "ready_tasks": _array(_ref("Task")),
        "history": {**_array(_ref("AuditEvent")), "description": "only on GET /process-instances/{id}"},
    }, ("id", "process_id", "version", "agency", "status", "started_at", "ended_at", "ready_tasks"))
    error = _obj({"error": _obj({
        "code": STR, "message": STR,
        "details": {"type": "object", "description": "422: `fields` (field -> message) or `problems` "
                    "([{file, element, line, reason}])"},
    }, ("code", "message"))})
    task_detail = {"allOf": [_ref("Task"), _obj({
        "form": _obj({"schema": {"type": ["object", "null"]}, "ui_schema": {"type": ["object", "null"]}}),
        "instructions": NULL_STR, "data": {"type": "object"}})]}
    model = _obj({"process_id": STR, "name": STR, "version": INT, "deployed_at": TIME, "clauses": _array(STR),
                  "executable": BOOL}, ("process_id", "name", "version", "deployed_at", "clauses"))
    deployed = _obj({"version": INT, "process_ids": _array(STR), "unchanged": BOOL, "inherited": _array(STR),
                     "warnings": _array(STR)}, ("version", "process_ids"))
    me = _obj({"username": STR, "agency": STR, "roles": _array(STR), "display_name": STR, "is_vendor": BOOL},
              ("username", "agency", "roles"))
    return {"Task": task, "TaskDetail": task_detail, "Instance": instance, "AuditEvent": event,
            "Error": error, "ProcessModel": model, "Deployment": deployed, "Me": me}


def _task_paths() -> dict:
    tid = _path_id("task_id")
    listing = [_query("scope", {"enum": list(TASK_SCOPES), "default": "mine"}, "mine = assigned to or "
                      "claimable by me"), _query("status", {"enum": list(TASK_STATUSES), "default": "ready"}),
               _query("process_id", STR), _query("page", INT), _query("per_page", INT)]
    complete_body = {**_json(_obj({"data": {"type": "object"}}))["content"], "multipart/form-data": {"schema": {
        **_obj({"data": {"type": "string", "description": "the form data as JSON text"}}, ()),
        "additionalProperties": {"type": "string", "format": "binary"},
        "description": "one binary part per file field (format evidence-file) of the task's form"}}}
    return {
        "/tasks": {"get": _op("Tasks", "200", _page_of("Task"), params=listing)},
        "/tasks/{task_id}": {"get": _op("A task with form, instructions and data", "200", _ref("TaskDetail"),
                                        errors=("404",), params=[tid])},
        "/tasks/{task_id}/claim": {"post": _op("Claim a task", "200", _ref("Task"),
                                               errors=("403", "404", "409"), params=[tid])},
        "/tasks/{task_id}/unclaim": {"post": _op("Give a claimed task back", "200", _ref("Task"),
                                                 errors=("403", "404", "409"), params=[tid])},
        "/tasks/{task_id}/complete": {"post": _op(
            "Complete a task (409 if no longer ready, whatever the body)", "200",
            _obj({"instance": _ref("Instance")}), errors=("403", "404", "409", "413", "422"), params=[tid],
            body=complete_body)},
    }


def _instance_paths() -> dict:
    start_body = _json(_obj({"process_id": STR, "agency": STR, "data": {"type": "object"}},
                            ("process_id",)))["content"]
    listing = [_query("process_id", STR), _query("agency", STR),
               _query("status", {"enum": list(INSTANCE_STATUSES)}), _query("page", INT),
               _query("per_page", INT),
               _query("started_from", {"type": "string", "format": "date"}, "started on or after (Asia/Taipei)"),
               _query("started_to", {"type": "string", "format": "date"}, "started on or before (Asia/Taipei)")]
    return {
        "/process-instances": {
            "post": _op("Start a process", "201", _ref("Instance"), errors=("403", "404", "422"),
                        body=start_body),
            "get": _op("Instances visible to me", "200", _page_of("Instance"), params=listing),
        },
        "/process-instances/{instance_id}": {"get": _op(
            "An instance with its history", "200", _ref("Instance"), errors=("404",),
            params=[_path_id("instance_id")])},
        "/audit-events": {"get": _op(
            "Audit events of an instance, in order", "200", _array(_ref("AuditEvent")), errors=("404",),
            params=[_query("instance_id", INT, required=True)])},
    }


def _model_paths() -> dict:
    upload = {"multipart/form-data": {"schema": _obj({"files": _array({"type": "string",
                                                                       "format": "binary"})})}}
    xml = {"content": {"application/xml": {"schema": STR}}}
    pid = {"name": "process_id", "in": "path", "required": True, "schema": STR}
    return {
        "/me": {"get": _op("Who am I", "200", _ref("Me"))},
        "/process-models": {
            "get": _op("Latest version of every process", "200", _array(_ref("ProcessModel"))),
            "post": _op("Deploy model files as a new version (analyst or master_admin)", "201",
                        _ref("Deployment"), errors=("403", "413", "422"), body=upload),
        },
        "/process-models/{process_id}/bpmn": {"get": _op(
            "The BPMN XML of a version", "200", None, errors=("404",), content=xml,
            params=[pid, _query("version", INT, "default: the latest")])},
    }


def _calendar_paths() -> dict:
    period = _obj({"obligation": STR, "clauses": _array(STR), "agency": STR, "period": STR,
                   "opens_at": TIME, "due_at": TIME,
                   "status": {"enum": ["scheduled", "open", "done", "late", "missed", "cancelled"]},
                   "instance_id": NULL_INT, "late": BOOL, "completed_at": TIME},
                  ("obligation", "clauses", "agency", "period", "opens_at", "due_at", "status", "instance_id"))
    move = _obj({"advance": {"type": "string", "description": "ISO 8601 duration, e.g. P1M"},
                 "set": {"type": "string", "format": "date-time"}}, ())
    moved = _obj({"now": TIME, "timers_fired": INT, "periods_opened": INT, "escalations": INT})
    return {
        "/obligations": {"get": _op("Obligation periods of the agencies you may see", "200", _array(period),
                                    errors=("404",), params=[_query("agency", STR), _query("year", INT)])},
        "/clock": {"post": _op("Move the simulated clock, firing all that falls due on the way (master_admin)",
                               "200", moved, errors=("403", "409"), body={"application/json": {"schema": move}})},
    }


def document() -> dict:
    """The whole OpenAPI document."""
    paths = {**_model_paths(), **_instance_paths(), **_task_paths(), **_calendar_paths()}
    for extra in EXTRA_PATHS:
        paths.update(extra())
    paths["/openapi.json"] = {"get": {"summary": "This document", "security": [],
                                      "responses": {"200": {"description": "OK"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "WebIR BPM API", "version": "1",
                 "description": "Errors are {error: {code, message, details}}. A browser session must send "
                                "the page's csrf-token in X-CSRFToken on POST."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        },
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document (public)."""
    return jsonify(document())
