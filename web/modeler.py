"""Modeler pages: processes and their versions, the bpmn-js modeler with our spiff panel, version diff and
migration, the form editor and the obligation cadence editor. Writes go through the REST API (web/api/)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, abort, render_template, request, send_from_directory, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

import web
from engine.models import DeploymentFile, ProcessVersion
from engine.obligation_defs import DEFINITIONS_FILE
from engine.specs import latest_versions
from engine.validation import LANES_FILE
from engine.versions import get_version, version_files, versions_of
from web.api.modeler import version_dict
from web.api.models import DEPLOY_ROLES
from web.extensions import get_db
from workflows.clauses import CLAUSES
from workflows.roles import ROLES

bp = Blueprint("modeler", __name__, url_prefix="/modeler")

NODE_MODULES = Path(web.__file__).resolve().parent.parent / "node_modules"
ASSET_DIRS = {
    "bpmn-js-properties-panel": NODE_MODULES / "bpmn-js-properties-panel" / "dist",
    "properties-panel": NODE_MODULES / "@bpmn-io" / "properties-panel" / "dist",
}
NOT_FORMS = (DEFINITIONS_FILE, LANES_FILE)


def may_deploy() -> bool:
    """Whether the logged-in user may validate, deploy, roll back and migrate."""
    return current_user.has_role(*DEPLOY_ROLES)


def _api(path: str) -> str:
    return f"{request.script_root}/api/v1/{path}"


def _version_or_404(session, process_id: str, version_no: int | None) -> ProcessVersion:
    version = get_version(session, process_id, version_no)
    if version is None:
        abort(404)
    return version


def form_files(session) -> list[str]:
    """Every JSON form file ever deployed (the names a user task may refer to)."""
    names = session.scalars(select(DeploymentFile.filename).where(DeploymentFile.filename.like("%.json"))
                            .distinct().order_by(DeploymentFile.filename))
    return [n for n in names if n.rsplit("/", 1)[-1] not in NOT_FORMS]


def _lane_map(session, version: ProcessVersion) -> dict:
    """The version's lanes.json (lane name -> role id), if it has one."""
    row = next((f for f in version_files(session, version) if f.filename.rsplit("/", 1)[-1] == LANES_FILE), None)
    try:
        found = json.loads(row.content) if row else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _editor_config(session, version: ProcessVersion) -> dict:
    """What modeler.js needs: where to load and post, roles, clauses, known form files."""
    pid = quote(version.process_id, safe="")
    return {
        "processId": version.process_id, "processName": version.name, "version": version.deployment_id,
        "bpmnFilename": version.bpmn_filename, "canDeploy": may_deploy(),
        "bpmnUrl": _api(f"process-models/{pid}/bpmn?version={version.deployment_id}"),
        "validateUrl": _api("process-models/validate"), "deployUrl": _api(f"process-models/{pid}/versions"),
        "draftUrl": _api(f"process-models/{pid}/draft"), "catalogUrl": _api("process-models/catalog"),
        "testRunsUrl": _api("test-runs"),
        "modelerUrl": url_for("modeler.edit", process_id=version.process_id),
        "roles": [{"id": rid, "zh": zh, "en": en} for rid, (zh, en) in ROLES.items()],
        "clauses": [{"id": cid, "gist": gist} for cid, gist in CLAUSES.items()],
        "formFiles": form_files(session), "timezone": "Asia/Taipei", "laneMap": _lane_map(session, version),
    }


@bp.get("")
@login_required
def index():
    """Every deployed process with its number of versions."""
    with get_db().sessions() as session:
        counts = dict(session.execute(select(ProcessVersion.process_id, func.count())
                                      .group_by(ProcessVersion.process_id)).all())
        processes = [{"process_id": v.process_id, "name": v.name, "version": v.deployment_id,
                      "deployed_at": v.deployed_at, "versions": counts.get(v.process_id, 1),
                      "clauses": v.clauses} for v in latest_versions(session)]
    return render_template("modeler/index.html", processes=processes, may_deploy=may_deploy())


@bp.get("/<process_id>")
@login_required
def edit(process_id: str):
    """The modeler on one version (`?version=`, default the latest); read-only without a deploy role."""
    version_no = request.args.get("version", type=int)
    with get_db().sessions() as session:
        version = _version_or_404(session, process_id, version_no)
        config = _editor_config(session, version)
        versions = [version_dict(v) for v in versions_of(session, process_id)]
    return render_template("modeler/edit.html", config=config, versions=versions, may_deploy=may_deploy())


@bp.get("/<process_id>/versions")
@login_required
def versions(process_id: str):
    """Versions of a process, a visual diff of two of them, roll back and migration (deployers)."""
    with get_db().sessions() as session:
        found = [version_dict(v) for v in versions_of(session, process_id)]
    if not found:
        abort(404)
    pid = quote(process_id, safe="")
    config = {"processId": process_id, "canDeploy": may_deploy(), "bpmnUrl": _api(f"process-models/{pid}/bpmn"),
              "diffUrl": _api(f"process-models/{pid}/diff"), "migrationUrl": _api(f"process-models/{pid}/migration"),
              "versionsApi": _api(f"process-models/{pid}/versions"),
              "versions": [v["version"] for v in found]}
    return render_template("modeler/versions.html", process_id=process_id, versions=found, config=config,
                           may_deploy=may_deploy(), name=found[0]["name"])


@bp.get("/assets/<package>/<path:filename>")
def asset(package: str, filename: str):
    """The properties-panel bundles and CSS, straight from node_modules (nothing outside their dist/)."""
    folder = ASSET_DIRS.get(package)
    if folder is None or not folder.is_dir():
        abort(404)
    return send_from_directory(folder, filename, max_age=3600)


from web import modeler_editors  # noqa: E402,F401  (the form and cadence editors add their routes to bp)
