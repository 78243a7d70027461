"""Process-instance endpoints: start, list, read with history, and the audit events of one instance."""

from __future__ import annotations

from flask import Response, g, jsonify, url_for

from engine.audit import events_of
from engine.models import ProcessInstance
from engine.runtime import start_instance
from web.api import bp
from web.api.auth import api_user
from web.api.errors import bad_request
from web.api.params import choice_arg, date_arg, int_arg, json_body, optional, paging, text_arg
from web.extensions import get_db, reading, reads_in_request_session
from web.queries import INSTANCE_STATUSES, event_dict, instance_dict, instance_dicts, list_instances, visible_instance


@bp.post("/process-instances")
def instance_start() -> Response:
    """Start the latest version of a process: `{process_id, agency?, data?}`."""
    body = json_body()
    process_id = optional(body, "process_id", str, "a string")
    if not process_id or not process_id.strip():
        raise bad_request("'process_id' is required", {"fields": {"process_id": "required"}})
    agency = optional(body, "agency", str, "an agency code (string)")
    data = optional(body, "data", dict, "a JSON object")
    instance_id = start_instance(get_db(), process_id.strip(), g.api_user_id, agency, data)
    with reading() as session:
        response = jsonify(instance_dict(session, session.get(ProcessInstance, instance_id, populate_existing=True)))
    response.status_code = 201
    response.headers["Location"] = url_for("api.instance_get", instance_id=instance_id)
    return response


@bp.get("/process-instances")
@reads_in_request_session
def instances_list() -> Response:
    """Instances I may see: `process_id=`, `agency=`, `status=`, `started_from=`, `started_to=`, `page=`."""
    status = choice_arg("status", INSTANCE_STATUSES, None)
    process_id, agency = text_arg("process_id"), text_arg("agency")
    page, per_page = paging()
    started = (date_arg("started_from"), date_arg("started_to"))
    with reading() as session:
        items, total = list_instances(session, api_user(session), process_id, agency, status, page, per_page,
                                      started=started)
        return jsonify({"items": instance_dicts(session, items), "total": total, "page": page,
                        "per_page": per_page})


@bp.get("/process-instances/<int:instance_id>")
@reads_in_request_session
def instance_get(instance_id: int) -> Response:
    """One instance with its ready tasks and its history."""
    with reading() as session:
        instance = visible_instance(session, api_user(session), instance_id)
        return jsonify(instance_dict(session, instance, with_history=True))


@bp.get("/audit-events")
@reads_in_request_session
def audit_events() -> Response:
    """The audit events of one instance I may see, oldest first."""
    instance_id = int_arg("instance_id")
    if instance_id is None:
        raise bad_request("'instance_id' is required", {"fields": {"instance_id": "required"}})
    with reading() as session:
        instance = visible_instance(session, api_user(session), instance_id)
        return jsonify([event_dict(e) for e in events_of(session, instance.id)])
