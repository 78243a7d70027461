"""Move running instances to a newer version of their process, where SpiffWorkflow's diff says it is safe.

A check loads the instance, diffs it against the target spec (`SpiffWorkflow.bpmn.util.diff`), migrates
the loaded copy and restores it on the target spec; nothing is written. Applying does the same under the
instance lock, re-pins the instance to the target ProcessVersion, runs it on and records an audit event.
Refused (with reasons): finished or failed instances, steps that were done or are waiting but no longer
exist, changed steps in progress (subprocesses, multi-instance), and anything that does not restore.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.db import Database
from engine.diff import load_specs
from engine.human_tasks import _new_row
from engine.locking import InstanceNotFound, lock_instance
from engine.models import HumanTask, InstanceStatus, ProcessInstance, ProcessVersion, TaskStatus, User
from engine.runtime import FINISHED, HostContext, NotFound, advance, deliver_messages
from engine.scripts import script_engine
from engine.state import dump_state, load_workflow
from engine.validation import SERIALIZER

# A task in one of these states happened (or is happening): its step must still exist after a migration.
DEFINITE = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
RESET = TaskState.READY | TaskState.WAITING  # what migrate_workflow resets and predicts again


@dataclass
class MigrationCheck:
    """Whether an instance can move to a version, and what would happen to its steps."""

    instance_id: int
    process_id: str
    agency_id: int
    status: str
    from_version: int
    to_version: int
    reasons: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)  # ready or waiting steps predicted again on the target
    changed: list[str] = field(default_factory=list)  # steps of this instance whose definition changed
    migrated: bool = False

    @property
    def can_migrate(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict:
        return {"instance_id": self.instance_id, "process_id": self.process_id, "status": self.status,
                "from_version": self.from_version, "to_version": self.to_version,
                "can_migrate": self.can_migrate, "reasons": self.reasons, "restarted": sorted(self.restarted),
                "changed": sorted(self.changed), "migrated": self.migrated}


class MigrationRefused(Exception):
    """The instance cannot move; `check.reasons` says why."""

    def __init__(self, check: MigrationCheck):
        self.check = check
        super().__init__("; ".join(check.reasons))


def _step(task) -> str:
    return task.task_spec.bpmn_id or task.task_spec.name


def _instance_reasons(instance: ProcessInstance, current: ProcessVersion, target: ProcessVersion) -> list[str]:
    if target.process_id != instance.process_id:
        return [f"version {target.deployment_id} is not a version of '{instance.process_id}'"]
    if instance.status in FINISHED:
        return [f"the instance is {instance.status.value}: nothing left to migrate"]
    if instance.status in (InstanceStatus.ERROR, InstanceStatus.SUSPENDED):
        return [f"the instance is {instance.status.value}: resolve that first"]
    if target.deployment_id <= current.deployment_id:
        return [f"the instance already runs version {current.deployment_id}; choose a newer version"]
    return []


def _diff_reasons(top, sub_diffs, workflow, target_no: int) -> list[str]:
    """Steps that happened (or are happening) but whose definition is gone or changed under them."""
    reasons = []
    gone = [t for t in top.removed if t.has_state(DEFINITE)]
    for sp_id, sub in sub_diffs.items():
        if sub is None:
            reasons.append(f"subprocess '{workflow.subprocesses[sp_id].spec.name}' does not exist in version "
                           f"{target_no}")
        else:
            gone += [t for t in sub.removed if t.has_state(DEFINITE)]
    reasons += [f"step '{_step(t)}' ({TaskState.get_name(t.state).lower()}) does not exist in version {target_no}"
                for t in gone if t.task_spec.bpmn_id]
    busy = [t for t in top.changed if t.state == TaskState.STARTED and t.task_spec.bpmn_id]
    reasons += [f"step '{_step(t)}' is in progress and its definition changed" for t in busy]
    return reasons


def _migrate(workflow, top, sub_diffs, new_spec, new_subs) -> None:
    """Point the loaded workflow (and its subprocesses) at the target specs, resetting ready/waiting steps."""
    for sp_id, sub in sub_diffs.items():
        subprocess = workflow.subprocesses[sp_id]
        migrate_workflow(sub, subprocess, new_subs[subprocess.spec.name])
    migrate_workflow(top, workflow, new_spec)
    workflow.subprocess_specs = new_subs


def _plan(session: Session, instance: ProcessInstance, target: ProcessVersion, actor: User | None):
    """The check, and the migrated workflow when it can move (None otherwise); writes nothing."""
    current = session.get(ProcessVersion, instance.process_version_id)
    check = MigrationCheck(instance.id, instance.process_id, instance.agency_id, instance.status.value,
                           current.deployment_id, target.deployment_id)
    check.reasons = _instance_reasons(instance, current, target)
    if check.reasons:
        return check, None
    engine = script_engine(HostContext(session, instance, actor))
    workflow = load_workflow(current, instance.state, engine)
    new_spec, new_subs = load_specs(target)
    top, sub_diffs = diff_workflow(SERIALIZER.registry, workflow, new_spec, new_subs)
    check.reasons = _diff_reasons(top, sub_diffs, workflow, target.deployment_id)
    check.changed = sorted({_step(t) for t in top.changed if t.has_state(DEFINITE) and t.task_spec.bpmn_id})
    check.restarted = sorted({_step(t) for t in workflow.get_tasks(state=RESET) if t.task_spec.bpmn_id})
    if check.reasons:
        return check, None
    try:
        _migrate(workflow, top, sub_diffs, new_spec, new_subs)
        load_workflow(target, dump_state(workflow), engine)  # the migrated state must restore on the target
    except Exception as exc:  # any failure here means "not safe": reported, never raised
        check.reasons.append(f"the instance's state does not carry over to version {target.deployment_id}: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        return check, None
    return check, workflow


def _target(session: Session, process_id: str, version_no: int) -> ProcessVersion:
    target = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                         ProcessVersion.deployment_id == version_no))
    if target is None:
        raise NotFound(f"process '{process_id}' has no version {version_no}")
    return target


def check_instance(db: Database, instance_id: int, version_no: int) -> MigrationCheck:
    """Dry run: could the instance move to this version of its process, and what would restart."""
    with db.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"process instance {instance_id} not found")
        check, _workflow = _plan(session, instance, _target(session, instance.process_id, version_no), None)
        session.rollback()  # scripts may have touched the session while restoring: keep nothing
        return check


def _refresh_changed_rows(session: Session, instance: ProcessInstance, target: ProcessVersion, workflow,
                          changed: set[str]) -> None:
    """Ready tasks whose step changed keep their row (same task id): take lane, role and form from the target."""
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if _step(t) in changed}
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                   HumanTask.status == TaskStatus.READY))
    for row in rows:
        if row.task_guid in ready:
            fresh = _new_row(session, instance, target, ready[row.task_guid])
            for name in ("title", "lane", "role", "agency_id", "form_schema", "form_ui_schema", "due_at"):
                setattr(row, name, getattr(fresh, name))
            if fresh.role != row.role or row.assignee_id is None:
                row.assignee_id = fresh.assignee_id


def migrate_instance(db: Database, instance_id: int, version_no: int, actor_id: int | None) -> MigrationCheck:
    """Move the instance to the version under its lock, or raise MigrationRefused with the reasons."""
    with db.transaction() as session:
        try:
            instance = lock_instance(session, instance_id)
        except InstanceNotFound:
            raise NotFound(f"process instance {instance_id} not found") from None
        actor = session.get(User, actor_id) if actor_id else None
        target = _target(session, instance.process_id, version_no)
        check, workflow = _plan(session, instance, target, actor)
        if workflow is None:
            raise MigrationRefused(check)
        before = instance.status.value
        instance.process_version_id, instance.version = target.id, target.deployment_id
        audit.record(session, "instance_migrated", actor.username if actor else None, instance.id,
                     before=before, after=before, from_version=check.from_version, to_version=target.deployment_id,
                     restarted=check.restarted)
        advance(session, instance, target, workflow, actor, before)
        _refresh_changed_rows(session, instance, target, workflow, set(check.changed))
        check.migrated, check.status = True, instance.status.value
    deliver_messages(db)
    return check


def instances_on(db: Database, process_id: str, from_version: int | None, to_version: int) -> list[int]:
    """Unfinished instances of a process on a version (or on any version older than the target)."""
    with db.sessions() as session:
        query = select(ProcessInstance.id).where(ProcessInstance.process_id == process_id,
                                                 ProcessInstance.status.not_in(FINISHED))
        if from_version is not None:
            query = query.where(ProcessInstance.version == from_version)
        else:
            query = query.where(ProcessInstance.version < to_version)
        return list(session.scalars(query.order_by(ProcessInstance.id)))


def migrate_all(db: Database, process_id: str, from_version: int | None, to_version: int,
                actor_id: int | None, dry_run: bool = True) -> list[MigrationCheck]:
    """Check (dry run) or migrate every unfinished instance; each instance in its own transaction and lock."""
    results = []
    for instance_id in instances_on(db, process_id, from_version, to_version):
        if dry_run:
            results.append(check_instance(db, instance_id, to_version))
            continue
        try:
            results.append(migrate_instance(db, instance_id, to_version, actor_id))
        except MigrationRefused as refused:
            results.append(refused.check)
    return results
