"""Migration endpoints: move running instances to a newer version, per instance or in bulk, dry run first.

Only analysts and master admins may check or migrate (a bulk report spans every agency's instances).
"""

from __future__ import annotations

from flask import Response, g, jsonify

from engine.migration import MigrationCheck, MigrationRefused, check_instance, migrate_all, migrate_instance
from engine.models import Agency, ProcessInstance
from engine.versions import get_version
from web.api import bp, openapi
from web.api.auth import api_user, require_role
from web.api.errors import ApiError, bad_request
from web.api.models import DEPLOY_ROLES
from web.api.params import int_arg, json_body, optional
from web.extensions import get_db


def _require_migrator() -> None:
    with get_db().sessions() as session:
        require_role(session, api_user(session), *DEPLOY_ROLES)


def _check_dict(check: MigrationCheck, agencies: dict[int, str]) -> dict:
    return {**check.as_dict(), "agency": agencies.get(check.agency_id)}


def _agencies(checks: list[MigrationCheck]) -> dict[int, str]:
    with get_db().sessions() as session:
        return {c.agency_id: session.get(Agency, c.agency_id).code for c in checks}


def _report(process_id: str, to_version: int, checks: list[MigrationCheck], dry_run: bool) -> dict:
    agencies = _agencies(checks)
    return {"process_id": process_id, "to_version": to_version, "dry_run": dry_run,
            "movable": sum(c.can_migrate for c in checks), "refused": sum(not c.can_migrate for c in checks),
            "migrated": sum(c.migrated for c in checks), "items": [_check_dict(c, agencies) for c in checks]}


def _required_version(value, name: str = "to") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise bad_request(f"'{name}' must be a version number", {"fields": {name: "a positive integer"}})
    return value


def _existing_target(process_id: str, value) -> int:
    """The target version number, 404 unless the process has it."""
    to_version = _required_version(value)
    with get_db().sessions() as session:
        if get_version(session, process_id, to_version) is None:
            raise ApiError(404, "not_found", f"process '{process_id}' has no version {to_version}")
    return to_version


@bp.get("/process-models/<process_id>/migration")
def migration_report(process_id: str) -> Response:
    """Dry run in bulk: which unfinished instances (of version `from`, default any older) can move to `to`."""
    _require_migrator()
    to_version = _existing_target(process_id, int_arg("to"))
    checks = migrate_all(get_db(), process_id, int_arg("from"), to_version, None, dry_run=True)
    return jsonify(_report(process_id, to_version, checks, True))


@bp.post("/process-models/<process_id>/migration")
def migration_bulk(process_id: str) -> Response:
    """Migrate in bulk: `{to, from?, dry_run?}`; refused instances stay where they are, with their reasons."""
    _require_migrator()
    body = json_body()
    to_version = _existing_target(process_id, body.get("to"))
    from_version = optional(body, "from", int, "a version number")
    dry_run = bool(optional(body, "dry_run", bool, "true or false"))
    checks = migrate_all(get_db(), process_id, from_version, to_version, g.api_user_id, dry_run=dry_run)
    return jsonify(_report(process_id, to_version, checks, dry_run))


def _instance_process(instance_id: int) -> None:
    with get_db().sessions() as session:
        if session.get(ProcessInstance, instance_id) is None:
            raise ApiError(404, "not_found", f"process instance {instance_id} not found")


@bp.get("/process-instances/<int:instance_id>/migration")
def instance_migration_check(instance_id: int) -> Response:
    """Dry run for one instance: could it move to version `to`, and which of its steps would restart."""
    _require_migrator()
    to_version = _required_version(int_arg("to"))
    _instance_process(instance_id)
    check = check_instance(get_db(), instance_id, to_version)
    return jsonify(_check_dict(check, _agencies([check])))


@bp.post("/process-instances/<int:instance_id>/migration")
def instance_migrate(instance_id: int) -> Response:
    """Move one instance to version `{to}`; 409 with the reasons when it is not safe."""
    _require_migrator()
    to_version = _required_version(json_body().get("to"))
    _instance_process(instance_id)
    try:
        check = migrate_instance(get_db(), instance_id, to_version, g.api_user_id)
    except MigrationRefused as refused:
        raise ApiError(409, "migration_refused", "; ".join(refused.check.reasons),
                       {"reasons": refused.check.reasons, "check": refused.check.as_dict()}) from None
    return jsonify(_check_dict(check, _agencies([check])))


def _paths() -> dict:
    """OpenAPI paths of this module."""
    o = openapi
    pid, iid = {**o._path_id("process_id"), "schema": o.STR}, o._path_id("instance_id")
    check = o._obj({"instance_id": o.INT, "process_id": o.STR, "agency": o.NULL_STR, "status": o.STR,
                    "from_version": o.INT, "to_version": o.INT, "can_migrate": o.BOOL,
                    "reasons": o._array(o.STR), "restarted": o._array(o.STR), "changed": o._array(o.STR),
                    "migrated": o.BOOL})
    report = o._obj({"process_id": o.STR, "to_version": o.INT, "dry_run": o.BOOL, "movable": o.INT,
                     "refused": o.INT, "migrated": o.INT, "items": o._array(check)})
    bulk = {"application/json": {"schema": o._obj({"to": o.INT, "from": o.INT, "dry_run": o.BOOL}, ("to",))}}
    one = {"application/json": {"schema": o._obj({"to": o.INT})}}
    return {
        "/process-models/{process_id}/migration": {
            "get": o._op("Bulk migration dry run (analyst, master_admin)", "200", report, errors=("403", "404"),
                         params=[pid, o._query("to", o.INT, required=True), o._query("from", o.INT)]),
            "post": o._op("Migrate unfinished instances in bulk", "200", report, errors=("403", "404"),
                          params=[pid], body=bulk)},
        "/process-instances/{instance_id}/migration": {
            "get": o._op("Migration dry run for one instance", "200", check, errors=("403", "404"),
                         params=[iid, o._query("to", o.INT, required=True)]),
            "post": o._op("Migrate one instance", "200", check, errors=("403", "404", "409"), params=[iid],
                          body=one)},
    }


openapi.EXTRA_PATHS.append(_paths)
