"""Model registry: parse and validate BPMN/DMN/form files, store each deployment as a version, cache specs.

A deployment is refused whole when any file is invalid: nothing is written, and every problem names its
file, element id and reason. Specs are serialized once per version; instances store only their state.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from engine.bundle import BundleError, ModelBundle, ModelFile, Problem
from engine.forms import CompiledForm, compile_form
from engine.models import Deployment, DeploymentFile, ProcessVersion
from engine.validation import ParsedBundle, check_bundle

DeployError = BundleError


@dataclass
class DeployResult:
    version: int
    process_ids: list[str]
    unchanged: bool = False
    inherited: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def content_hash(files: list[ModelFile]) -> str:
    """Hash of the deployed files' names and contents, independent of their order."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.filename):
        digest.update(f.filename.encode() + b"\0" + f.sha256.encode() + b"\n")
    return digest.hexdigest()


def _latest_files(session: Session) -> dict[str, DeploymentFile]:
    """The newest deployed copy of every file name (the pool a partial deploy inherits from)."""
    newest = (
        select(DeploymentFile.filename, func.max(DeploymentFile.deployment_id).label("dep"))
        .group_by(DeploymentFile.filename)
        .subquery()
    )
    rows = session.scalars(
        select(DeploymentFile).join(
            newest,
            (DeploymentFile.filename == newest.c.filename) & (DeploymentFile.deployment_id == newest.c.dep),
        )
    )
    return {row.filename: row for row in rows}


def latest_files(session: Session) -> dict[str, DeploymentFile]:
    """The newest deployed copy of every file name (a modeler test run copies the rule files from it)."""
    return _latest_files(session)


def latest_model_files(session: Session) -> list[ModelFile]:
    """The newest deployed copy of every model file (what the deployed models read), e.g. for traceability."""
    return [ModelFile(row.filename, row.content.encode("utf-8")) for _, row in sorted(_latest_files(session).items())]


def _is_unchanged(session: Session, process_ids: list[str], digest: str) -> int | None:
    """The existing version when every process's latest version came from identical files."""
    versions = set()
    for pid in process_ids:
        latest = latest_version(session, pid)
        if latest is None:
            return None
        dep = session.get(Deployment, latest.deployment_id)
        if dep.content_hash != digest:
            return None
        versions.add(dep.id)
    return versions.pop() if len(versions) == 1 else None


def check_files(session: Session, files: list[ModelFile], known_roles: set[str]) -> tuple[ModelBundle, ParsedBundle]:
    """Validate files as deploy would (inheriting from the latest versions) without writing anything."""
    if not files:
        raise DeployError([Problem("", "", "no files to deploy")])
    pool = {name: ModelFile(name, row.content.encode()) for name, row in _latest_files(session).items()}
    bundle = ModelBundle.build(files, pool)
    return bundle, check_bundle(bundle, known_roles)


def deploy(session: Session, files: list[ModelFile], deployed_by: str | None, source: str,
           known_roles: set[str]) -> DeployResult:
    """Validate the files (plus what they need from the latest versions) and store them as one version."""
    if not files:
        raise DeployError([Problem("", "", "no files to deploy")])
    pool = {name: ModelFile(name, row.content.encode()) for name, row in _latest_files(session).items()}
    bundle = ModelBundle.build(files, pool)
    parsed = check_bundle(bundle, known_roles)
    digest = content_hash(bundle.all_files())  # what runs, inherited files included
    existing = _is_unchanged(session, parsed.process_ids, digest)
    if existing is not None:
        return DeployResult(existing, parsed.process_ids, unchanged=True)
    deployment = Deployment(content_hash=digest, deployed_by=deployed_by, source=source[:200])
    session.add(deployment)
    session.flush()
    for f in bundle.all_files():
        session.add(DeploymentFile(deployment_id=deployment.id, filename=f.filename, sha256=f.sha256,
                                   content=f.text, inherited=f.filename in bundle.inherited))
    for pid in parsed.process_ids:
        info = parsed.processes[pid]
        session.add(ProcessVersion(
            process_id=pid, deployment_id=deployment.id, name=info.name, bpmn_filename=info.filename,
            spec_json=info.spec_json, clauses=info.clauses, lane_roles=info.lane_roles,
            deployed_at=deployment.deployed_at, is_executable=info.executable, message_starts=info.message_starts,
        ))
    session.flush()
    return DeployResult(deployment.id, parsed.process_ids, inherited=sorted(bundle.inherited),
                        warnings=[w.describe() for w in parsed.warnings])


def latest_version(session: Session, process_id: str) -> ProcessVersion | None:
    """The newest deployed version of a process."""
    return session.scalars(
        select(ProcessVersion).where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.deployment_id.desc()).limit(1)
    ).first()


def latest_versions(session: Session) -> list[ProcessVersion]:
    """The newest version of every deployed process, by process id."""
    newest = (
        select(ProcessVersion.process_id, func.max(ProcessVersion.deployment_id).label("dep"))
        .group_by(ProcessVersion.process_id).subquery()
    )
    return list(session.scalars(
        select(ProcessVersion).join(
            newest,
            (ProcessVersion.process_id == newest.c.process_id)
            & (ProcessVersion.deployment_id == newest.c.dep),
        ).order_by(ProcessVersion.process_id)
    ))


def _find_file(session: Session, deployment_id: int, filename: str, *columns):
    """The deployment's file by exact path, else by its base name: the whole row, or the given columns."""
    of_deployment = select(*columns) if columns else select(DeploymentFile)
    of_deployment = of_deployment.where(DeploymentFile.deployment_id == deployment_id)
    run = session.execute if columns else session.scalars
    exact = run(of_deployment.where(DeploymentFile.filename == filename)).first()
    return exact if exact is not None else _by_base_name(run, of_deployment, filename)


def _by_base_name(run, of_deployment, filename: str):
    """The deployment's file whose base name is the given name's (models drawn elsewhere name bare files)."""
    base = filename.rsplit("/", 1)[-1]
    candidates = run(of_deployment.where(DeploymentFile.filename.endswith(base, autoescape=True)))
    return next((row for row in candidates if row.filename.rsplit("/", 1)[-1] == base), None)


def deployment_file(session: Session, deployment_id: int, filename: str) -> DeploymentFile | None:
    """A deployed file by exact path, else by its base name (models drawn elsewhere name bare files)."""
    return _find_file(session, deployment_id, filename)


def load_form(session: Session, deployment_id: int, filename: str | None) -> dict | None:
    """A JSON-schema (or ui-schema) file of a deployment, parsed."""
    if not filename:
        return None
    row = deployment_file(session, deployment_id, filename)
    return json.loads(row.content) if row else None


_COMPILED_FORMS: dict[str, CompiledForm] = {}
_MAX_COMPILED_FORMS = 512
_FILES = DeploymentFile.__table__.c
_FILE_HASH_COLUMNS = (_FILES.id, _FILES.filename, _FILES.sha256)
_FILE_HASH = (select(*_FILE_HASH_COLUMNS)  # every completion with a form: built once
              .where(_FILES.deployment_id == bindparam("deployment_id"), _FILES.filename == bindparam("filename")))


def compiled_form(session: Session, deployment_id: int, filename: str | None) -> CompiledForm | None:
    """A deployment's form schema with its validator, parsed and compiled once per file content.

    Keyed by the file's SHA-256 (a deployed file never changes under its hash), so only the hash is read
    on later calls. The schema is shared: callers must not change it.
    """
    if not filename:
        return None
    row = session.execute(_FILE_HASH, {"deployment_id": deployment_id, "filename": filename}).first()
    if row is None:
        of_deployment = select(*_FILE_HASH_COLUMNS).where(_FILES.deployment_id == deployment_id)
        row = _by_base_name(session.execute, of_deployment, filename)
    if row is None:
        return None
    form = _COMPILED_FORMS.get(row.sha256)
    if form is None:
        if len(_COMPILED_FORMS) >= _MAX_COMPILED_FORMS:
            _COMPILED_FORMS.clear()
        content = session.scalar(select(DeploymentFile.content).where(DeploymentFile.id == row.id))
        form = _COMPILED_FORMS[row.sha256] = compile_form(json.loads(content))
    return form
