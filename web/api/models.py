"""Process-model endpoints: latest versions, deploy (analyst or master_admin), a version's BPMN XML."""

from __future__ import annotations

from flask import Response, jsonify, request
from sqlalchemy import select

from engine import audit
from engine.bundle import ModelFile
from engine.models import ProcessVersion
from engine.specs import deployment_file, latest_version, latest_versions
from web.api import bp
from web.api.auth import api_user, require_role
from web.api.errors import ApiError, bad_request
from web.api.params import int_arg
from web.extensions import get_db
from web.queries import iso
from workflows.bundled import deploy_files

DEPLOY_ROLES = ("analyst", "master_admin")


def _model_dict(version: ProcessVersion) -> dict:
    return {"process_id": version.process_id, "name": version.name, "version": version.deployment_id,
            "deployed_at": iso(version.deployed_at), "clauses": list(version.clauses or []),
            "executable": version.is_executable}


@bp.get("/process-models")
def models_list() -> Response:
    """The latest version of every deployed process."""
    with get_db().sessions() as session:
        api_user(session)
        return jsonify([_model_dict(v) for v in latest_versions(session)])


def _uploaded() -> list[ModelFile]:
    uploads = request.files.getlist("files")
    if not uploads:
        raise bad_request("請上傳檔案 Upload the model files in the multipart field 'files'",
                          {"fields": {"files": "required"}})
    return [ModelFile((f.filename or "").replace("\\", "/"), f.read()) for f in uploads]


@bp.post("/process-models")
def models_deploy() -> Response:
    """Deploy BPMN/DMN/form files as one new version; refused whole (422, nothing written) on any problem."""
    with get_db().sessions() as session:
        user = api_user(session)
        require_role(session, user, *DEPLOY_ROLES)
        username = user.username
    files = _uploaded()
    with get_db().transaction() as session:
        result = deploy_files(session, files, username, "api upload")
        if not result.unchanged:
            audit.record(session, "models_deployed", username, version=result.version,
                         process_ids=result.process_ids, files=[f.filename for f in files])
    response = jsonify({"version": result.version, "process_ids": result.process_ids,
                        "unchanged": result.unchanged, "inherited": result.inherited,
                        "warnings": result.warnings})
    response.status_code = 201
    return response


@bp.get("/process-models/<process_id>/bpmn")
def model_bpmn(process_id: str) -> Response:
    """The BPMN XML of a process version (`?version=`, default the latest)."""
    version_no = int_arg("version")
    with get_db().sessions() as session:
        api_user(session)
        if version_no is None:
            version = latest_version(session, process_id)
        else:
            version = session.scalar(select(ProcessVersion).where(
                ProcessVersion.process_id == process_id, ProcessVersion.deployment_id == version_no))
        row = deployment_file(session, version.deployment_id, version.bpmn_filename) if version else None
        if row is None:
            which = version_no or "latest"
            raise ApiError(404, "not_found", f"process '{process_id}' version {which} not found")
        return Response(row.content, mimetype="application/xml",
                        headers={"X-Process-Version": str(version.deployment_id)})
