"""The versions of one process: who deployed them, when, why (the deploy message), and with which files.

Versions are immutable deployments. The message lives in the deployment's audit event (`models_deployed`),
so it is as tamper-evident as the rest of the log. Rolling back redeploys an old version's files as new.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bundle import ModelBundle, ModelFile
from engine.models import AuditEvent, Deployment, DeploymentFile, ProcessInstance, ProcessVersion
from engine.runtime import FINISHED
from engine.validation import LANES_FILE

DEPLOY_ACTION = "models_deployed"


@dataclass
class VersionInfo:
    """One version of a process as the version list shows it."""

    version: int
    process_id: str
    name: str
    deployed_at: dt.datetime
    deployed_by: str | None
    message: str
    content_hash: str
    source: str
    bpmn_filename: str
    instances: int
    unfinished: int


def deploy_messages(session: Session) -> dict[int, str]:
    """Version number -> the message given when it was deployed (from the audit log)."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == DEPLOY_ACTION).order_by(AuditEvent.id))
    found = {}
    for event in events:
        detail = event.detail or {}
        if isinstance(detail.get("version"), int) and detail.get("message"):
            found[detail["version"]] = str(detail["message"])
    return found


def _instance_counts(session: Session, process_id: str) -> dict[int, tuple[int, int]]:
    rows = session.execute(
        select(ProcessInstance.version, ProcessInstance.status, func.count())
        .where(ProcessInstance.process_id == process_id)
        .group_by(ProcessInstance.version, ProcessInstance.status))
    counts: dict[int, tuple[int, int]] = {}
    for version, status, n in rows:
        total, unfinished = counts.get(version, (0, 0))
        counts[version] = (total + n, unfinished + (0 if status in FINISHED else n))
    return counts


def _impossible(process_id: str) -> bool:
    """An id no process can have (and PostgreSQL refuses to compare: NUL characters)."""
    return "\x00" in process_id


def versions_of(session: Session, process_id: str) -> list[VersionInfo]:
    """Every version of a process, newest first."""
    if _impossible(process_id):
        return []
    rows = session.execute(
        select(ProcessVersion, Deployment).join(Deployment, Deployment.id == ProcessVersion.deployment_id)
        .where(ProcessVersion.process_id == process_id).order_by(ProcessVersion.deployment_id.desc())).all()
    messages, counts = deploy_messages(session), _instance_counts(session, process_id)
    return [VersionInfo(pv.deployment_id, pv.process_id, pv.name, dep.deployed_at, dep.deployed_by,
                        messages.get(dep.id, ""), dep.content_hash, dep.source, pv.bpmn_filename,
                        *counts.get(pv.deployment_id, (0, 0))) for pv, dep in rows]


def get_version(session: Session, process_id: str, version_no: int | None) -> ProcessVersion | None:
    """A version of a process by number; None means the latest."""
    if _impossible(process_id):
        return None
    query = select(ProcessVersion).where(ProcessVersion.process_id == process_id)
    if version_no is not None:
        query = query.where(ProcessVersion.deployment_id == version_no)
    return session.scalars(query.order_by(ProcessVersion.deployment_id.desc()).limit(1)).first()


def version_files(session: Session, version: ProcessVersion) -> list[DeploymentFile]:
    """The files of the version's deployment, by name."""
    return list(session.scalars(select(DeploymentFile).where(DeploymentFile.deployment_id == version.deployment_id)
                                .order_by(DeploymentFile.filename)))


def rollback_files(session: Session, version: ProcessVersion) -> list[ModelFile]:
    """The version's BPMN file with the forms, DMN tables, called processes and lane map it used then.

    Only what this process needs is taken, so rolling back one process leaves the others (and the
    obligations calendar) of a shared deployment alone.
    """
    rows = {row.filename: ModelFile(row.filename, row.content.encode()) for row in version_files(session, version)}
    main = rows.pop(version.bpmn_filename)
    bundle = ModelBundle.build([main], rows)
    lanes = [f for name, f in rows.items() if f.basename == LANES_FILE and name not in bundle.files]
    return bundle.all_files() + lanes
