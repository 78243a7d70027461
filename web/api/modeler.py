"""Modeler endpoints: versions of a process, their files, validate without deploying, deploy a new version
with a message (the modeler's stricter lint), roll back, and the diff of two versions."""

from __future__ import annotations

from flask import Response, jsonify, request
from sqlalchemy.orm import Session

from engine import audit
from engine.assignment import KNOWN_ROLES
from engine.bundle import BundleError, ModelFile, Problem
from engine.diff import diff_versions
from engine.lint import lint
from engine.models import ProcessVersion, User
from engine.specs import DeployResult, check_files
from engine.versions import DEPLOY_ACTION, VersionInfo, get_version, rollback_files, version_files, versions_of
from web.api import bp, openapi
from web.api.auth import api_user, require_role
from web.api.errors import ApiError, bad_request
from web.api.models import DEPLOY_ROLES
from web.api.params import int_arg, json_body, optional
from web.extensions import get_db
from web.queries import iso
from workflows.bundled import deploy_files
from workflows.clauses import CLAUSE_IDS

MAX_MESSAGE = 500
TEXT_TYPES = {"bpmn": "application/xml", "dmn": "application/xml", "json": "application/json"}


def version_dict(info: VersionInfo) -> dict:
    """A version as the API and the versions page show it."""
    return {"version": info.version, "process_id": info.process_id, "name": info.name,
            "deployed_at": iso(info.deployed_at), "deployed_by": info.deployed_by, "message": info.message,
            "content_hash": info.content_hash, "source": info.source, "bpmn_filename": info.bpmn_filename,
            "instances": info.instances, "unfinished_instances": info.unfinished}


def _version_or_404(session: Session, process_id: str, version_no: int | None) -> ProcessVersion:
    version = get_version(session, process_id, version_no)
    if version is None:
        raise ApiError(404, "not_found", f"process '{process_id}' version {version_no or 'latest'} not found")
    return version


def _deployer(session: Session) -> User:
    user = api_user(session)
    require_role(session, user, *DEPLOY_ROLES)
    return user


def _uploaded() -> list[ModelFile]:
    uploads = request.files.getlist("files")
    if not uploads:
        raise bad_request("請上傳檔案 Upload the model files in the multipart field 'files'",
                          {"fields": {"files": "required"}})
    files = [ModelFile((f.filename or "").replace("\\", "/"), f.read()) for f in uploads]
    if any("\x00" in f.filename for f in files):
        raise bad_request("檔名不可含 NUL 字元 File names must not contain NUL characters",
                          {"fields": {"files": "invalid file name"}})
    return files


def strict_check(session: Session, files: list[ModelFile]):
    """Everything a deploy checks, plus the modeler's lint (forms, timers, clause ids, unbounded loops)."""
    bundle, parsed = check_files(session, files, set(KNOWN_ROLES))
    problems = lint(bundle, parsed, set(CLAUSE_IDS))
    if problems:
        raise BundleError(problems)
    return bundle, parsed


def _message() -> str:
    message = (request.form.get("message") or "").replace("\x00", "").strip()
    if not message:
        raise bad_request("請說明此版本的變更 Say what this version changes ('message')",
                          {"fields": {"message": "required"}})
    return message[:MAX_MESSAGE]


def _deployed(result: DeployResult) -> Response:
    response = jsonify({"version": result.version, "process_ids": result.process_ids,
                        "unchanged": result.unchanged, "inherited": result.inherited})
    response.status_code = 200 if result.unchanged else 201
    return response


def _deploy(session: Session, files: list[ModelFile], username: str, message: str, **detail) -> DeployResult:
    """Deploy and record the message in the deployment's audit event (where the versions list reads it)."""
    result = deploy_files(session, files, username, "modeler")
    if not result.unchanged:
        audit.record(session, DEPLOY_ACTION, username, version=result.version, process_ids=result.process_ids,
                     files=[f.filename for f in files], message=message, **detail)
    return result


@bp.get("/process-models/<process_id>/versions")
def model_versions(process_id: str) -> Response:
    """Every version of a process, newest first: author, time, message, content hash, instance counts."""
    with get_db().sessions() as session:
        api_user(session)
        found = versions_of(session, process_id)
        if not found:
            raise ApiError(404, "not_found", f"process '{process_id}' is not deployed")
        return jsonify([version_dict(v) for v in found])


@bp.get("/process-models/<process_id>/versions/<int:version_no>/files")
def model_version_files(process_id: str, version_no: int) -> Response:
    """The files deployed with a version (inherited ones marked)."""
    with get_db().sessions() as session:
        api_user(session)
        version = _version_or_404(session, process_id, version_no)
        return jsonify([{"filename": f.filename, "sha256": f.sha256, "inherited": f.inherited,
                         "size": len(f.content.encode())} for f in version_files(session, version)])


@bp.get("/process-models/<process_id>/versions/<int:version_no>/files/<path:filename>")
def model_version_file(process_id: str, version_no: int, filename: str) -> Response:
    """One deployed file of a version, as deployed."""
    with get_db().sessions() as session:
        api_user(session)
        version = _version_or_404(session, process_id, version_no)
        row = next((f for f in version_files(session, version) if f.filename == filename), None)
        if row is None:
            raise ApiError(404, "not_found", f"version {version_no} has no file '{filename}'")
        kind = filename.rsplit(".", 1)[-1].lower()
        return Response(row.content, mimetype=TEXT_TYPES.get(kind, "text/plain"))


@bp.post("/process-models/validate")
def model_validate() -> Response:
    """Check files as the modeler's deploy would, writing nothing: 200 when valid, else 422 with problems."""
    with get_db().sessions() as session:
        _deployer(session)
        bundle, parsed = strict_check(session, _uploaded())
        return jsonify({"valid": True, "process_ids": parsed.process_ids, "inherited": sorted(bundle.inherited),
                        "problems": []})


@bp.post("/process-models/<process_id>/versions")
def model_version_create(process_id: str) -> Response:
    """Deploy edited files as a new version of the process, with a message (multipart `files`, `message`)."""
    with get_db().sessions() as session:
        username = _deployer(session).username
    files, message = _uploaded(), _message()
    with get_db().transaction() as session:
        _bundle, parsed = strict_check(session, files)
        if process_id not in parsed.process_ids:
            raise BundleError([Problem("", process_id, f"the files do not define process '{process_id}'")])
        return _deployed(_deploy(session, files, username, message))


@bp.post("/process-models/<process_id>/versions/<int:version_no>/redeploy")
def model_version_redeploy(process_id: str, version_no: int) -> Response:
    """Roll back: deploy an old version's files (with the forms it used) as a new version."""
    with get_db().sessions() as session:
        username = _deployer(session).username
    message = (optional(json_body(), "message", str, "a string") or "").replace("\x00", "").strip()[:MAX_MESSAGE]
    with get_db().transaction() as session:
        files = rollback_files(session, _version_or_404(session, process_id, version_no))
        result = _deploy(session, files, username, message or f"回復為第 {version_no} 版 Roll back to "
                         f"version {version_no}", rolled_back_to=version_no)
        return _deployed(result)


@bp.get("/process-models/<process_id>/diff")
def model_diff(process_id: str) -> Response:
    """Elements added, removed and changed between two versions (`from`, `to`; default: previous -> latest)."""
    to_no, from_no = int_arg("to"), int_arg("from")
    with get_db().sessions() as session:
        api_user(session)
        new = _version_or_404(session, process_id, to_no)
        if from_no is None:
            older = [v.version for v in versions_of(session, process_id) if v.version < new.deployment_id]
            from_no = older[0] if older else new.deployment_id
        old = _version_or_404(session, process_id, from_no)
        return jsonify({"process_id": process_id, "from": old.deployment_id, "to": new.deployment_id,
                        **diff_versions(session, old, new).as_dict()})


def _paths() -> dict:
    """OpenAPI paths of this module."""
    o = openapi
    pid, ver = {**o._path_id("process_id"), "schema": o.STR}, o._path_id("version")
    version = o._obj({"version": o.INT, "process_id": o.STR, "name": o.STR, "deployed_at": o.TIME,
                      "deployed_by": o.NULL_STR, "message": o.STR, "content_hash": o.STR, "source": o.STR,
                      "bpmn_filename": o.STR, "instances": o.INT, "unfinished_instances": o.INT})
    upload = {"multipart/form-data": {"schema": o._obj({"files": o._array({"type": "string", "format": "binary"}),
                                                        "message": o.STR}, ("files",))}}
    deployed = o._obj({"version": o.INT, "process_ids": o._array(o.STR), "unchanged": o.BOOL,
                       "inherited": o._array(o.STR)})
    diff = o._obj({"process_id": o.STR, "from": o.INT, "to": o.INT, "added": o._array(o.STR),
                   "removed": o._array(o.STR), "changed": {"type": "object"}})
    return {
        "/process-models/{process_id}/versions": {
            "get": o._op("Versions of a process, newest first", "200", o._array(version), errors=("404",),
                         params=[pid]),
            "post": o._op("Deploy a new version with a message (analyst, master_admin; strict lint)", "201",
                          deployed, errors=("403", "422"), params=[pid], body=upload)},
        "/process-models/{process_id}/versions/{version}/files": {
            "get": o._op("Files of a version", "200", o._array({"type": "object"}), errors=("404",),
                         params=[pid, ver])},
        "/process-models/{process_id}/versions/{version}/redeploy": {
            "post": o._op("Roll back: redeploy an old version as a new one", "201", deployed,
                          errors=("403", "404", "422"), params=[pid, ver])},
        "/process-models/validate": {
            "post": o._op("Validate files without deploying (analyst, master_admin)", "200", {"type": "object"},
                          errors=("403", "422"), body=upload)},
        "/process-models/{process_id}/diff": {
            "get": o._op("Diff of two versions (element ids)", "200", diff, errors=("404",),
                         params=[pid, o._query("from", o.INT), o._query("to", o.INT)])},
    }


openapi.EXTRA_PATHS.append(_paths)
