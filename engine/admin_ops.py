"""Manager operations on an instance: suspend, resume, cancel with a reason, reassign a ready task.

Allowed to the `agency_admin` of the instance's agency and to `master_admin` (in the master agency). Each
runs in its own transaction that begins with the instance lock, changes the rows, then records the audit
event (lock order instance -> audit, as everywhere). A suspended instance keeps its workflow state untouched:
its ready tasks are parked as `suspended` (nobody can claim or complete them), the scheduler does not wake it
(it wakes only running and waiting instances) and it is taken off the message waiting list; resuming runs it
on exactly as a timer or message would, which brings the tasks back and fires whatever fell due meanwhile.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.assignment import (
    APPLICANT,
    DELEGATING_AGENCY,
    DELEGATING_ROLES,
    NotAllowed,
    active_roles,
    can_see_instance,
    candidate_pairs,
    master_agency_id,
)
from engine.db import Database
from engine.locking import InstanceNotFound, lock_instance
from engine.models import HumanTask, InstanceStatus, ProcessInstance, ProcessVersion, RoleAssignment, TaskStatus, User
from engine.runtime import FINISHED, HostContext, NotFound, TaskNotReady, advance, deliver_messages
from engine.scripts import script_engine
from engine.state import load_workflow
from engine.task_priority import NAMES, PRIORITIES

AGENCY_MANAGER_ROLE = "agency_admin"
MASTER_MANAGER_ROLE = "master_admin"
SUSPENDABLE = (InstanceStatus.RUNNING, InstanceStatus.WAITING)
MAX_REASON_CHARS = 500


class InvalidTransition(Exception):
    """The instance is not in a state this operation applies to (e.g. resuming a running instance)."""


class ReasonRequired(ValueError):
    """Cancelling needs a reason (kept in the audit log)."""


class PriorityInvalid(ValueError):
    """Not one of the task priorities."""


def may_manage(session: Session, user: User, instance: ProcessInstance) -> bool:
    """Whether the user may suspend, resume, cancel or reassign in this instance."""
    roles = active_roles(session, user.id)
    return ((instance.agency_id, AGENCY_MANAGER_ROLE) in roles
            or (master_agency_id(session), MASTER_MANAGER_ROLE) in roles)


def _locked_for_manager(session: Session, instance_id: int, user_id: int) -> tuple[ProcessInstance, User]:
    """Lock the instance (first statement of the transaction), then check the user may manage it."""
    try:
        instance = lock_instance(session, instance_id)
    except InstanceNotFound:
        raise NotFound(f"process instance {instance_id} not found") from None
    user = session.get(User, user_id)
    if user is None or not can_see_instance(session, user, instance.id):
        raise NotFound(f"process instance {instance_id} not found")
    if not may_manage(session, user, instance):
        raise NotAllowed("只有本機關管理者或總管理者可以管理案件 "
                         "Only the agency's administrator or the master administrator may manage this instance")
    return instance, user


def _clean_reason(reason: str | None, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise ReasonRequired("請說明原因 Please give a reason")
    return text[:MAX_REASON_CHARS]


def _tasks(session: Session, instance_id: int, statuses: tuple[TaskStatus, ...]) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.status.in_(statuses))))


def suspend_instance(db: Database, instance_id: int, user_id: int, reason: str | None = None) -> None:
    """Pause a running or waiting instance: its ready tasks are parked, no timer or message wakes it."""
    with db.transaction() as session:
        instance, user = _locked_for_manager(session, instance_id, user_id)
        if instance.status not in SUSPENDABLE:
            raise InvalidTransition(f"只能暫停執行中或等待中的案件 Only a running or waiting instance can be "
                                    f"suspended (it is {instance.status.value})")
        before = instance.status.value
        for task in _tasks(session, instance.id, (TaskStatus.READY,)):
            task.status = TaskStatus.SUSPENDED
        instance.status, instance.waits_for, instance.updated_at = InstanceStatus.SUSPENDED, None, clock.now()
        audit.record(session, "instance_suspended", user.username, instance.id, before=before,
                     after=InstanceStatus.SUSPENDED.value, reason=_clean_reason(reason, False))


def resume_instance(db: Database, instance_id: int, user_id: int, reason: str | None = None) -> None:
    """Run a suspended instance on: its tasks are ready again, timers due meanwhile fire now."""
    with db.transaction() as session:
        instance, user = _locked_for_manager(session, instance_id, user_id)
        if instance.status != InstanceStatus.SUSPENDED:
            raise InvalidTransition(f"只能恢復已暫停的案件 Only a suspended instance can be resumed "
                                    f"(it is {instance.status.value})")
        version = session.get(ProcessVersion, instance.process_version_id)
        workflow = load_workflow(version, instance.state, script_engine(HostContext(session, instance, user)))
        audit.record(session, "instance_resumed", user.username, instance.id, before=InstanceStatus.SUSPENDED.value,
                     reason=_clean_reason(reason, False))
        advance(session, instance, version, workflow, user, InstanceStatus.SUSPENDED.value)
    deliver_messages(db)


def cancel_instance(db: Database, instance_id: int, user_id: int, reason: str | None) -> None:
    """End an unfinished instance for good, with a reason; its open tasks are cancelled."""
    with db.transaction() as session:
        instance, user = _locked_for_manager(session, instance_id, user_id)
        text = _clean_reason(reason, True)
        if instance.status in FINISHED:
            raise InvalidTransition(f"此案件已結束 This instance has already ended ({instance.status.value})")
        before = instance.status.value
        for task in _tasks(session, instance.id, (TaskStatus.READY, TaskStatus.SUSPENDED)):
            task.status = TaskStatus.CANCELLED
        now = clock.now()
        instance.status, instance.ended_at, instance.updated_at = InstanceStatus.CANCELLED, now, now
        instance.next_due_at, instance.waits_for = None, None
        audit.record(session, "instance_cancelled", user.username, instance.id, before=before,
                     after=InstanceStatus.CANCELLED.value, reason=text)


def role_holders(session: Session, task: HumanTask, instance: ProcessInstance) -> list[User]:
    """Active users who may take this task: holders of its role in its agency, never the instance's starter."""
    roles = list(DELEGATING_ROLES) if task.role == DELEGATING_AGENCY else [task.role]
    query = (select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
             .where(RoleAssignment.agency_id == task.agency_id, RoleAssignment.role.in_(roles),
                    RoleAssignment.revoked_at.is_(None), User.is_active.is_(True))
             .distinct().order_by(User.username))
    if instance.started_by_id is not None:
        query = query.where(User.id != instance.started_by_id)
    return list(session.scalars(query))


def _task_instance_id(db: Database, task_id: int) -> int:
    # A separate read: the write transaction must begin with the lock (see engine/locking.py).
    with db.sessions() as session:
        instance_id = session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task_id))
    if instance_id is None:
        raise NotFound(f"task {task_id} not found")
    return instance_id


def reassign_task(db: Database, task_id: int, user_id: int, to_username: str) -> None:
    """Give a ready task to another holder of its role (the audit event names both people)."""
    instance_id = _task_instance_id(db, task_id)
    with db.transaction() as session:
        instance, user = _locked_for_manager(session, instance_id, user_id)
        task = session.get(HumanTask, task_id, populate_existing=True)
        if task.status != TaskStatus.READY:
            raise TaskNotReady(f"task {task_id} is {task.status.value}, no longer ready")
        if task.role in (None, APPLICANT):
            raise NotAllowed("申請人的步驟不能改派 An applicant's step cannot be reassigned")
        target = session.scalar(select(User).where(User.username == (to_username or "").strip()))
        if target is None or not target.is_active or target.id == instance.started_by_id \
                or (task.agency_id, task.role) not in candidate_pairs(session, target.id):
            raise NotAllowed(f"{to_username} 不能處理此任務 {to_username} may not take this task")
        previous = session.get(User, task.assignee_id) if task.assignee_id else None
        task.assignee_id = target.id
        audit.record(session, "task_reassigned", user.username, instance.id, task.id, task=task.name,
                     from_user=previous.username if previous else None, to_user=target.username)


def set_task_priority(db: Database, task_id: int, user_id: int, priority: str | None) -> None:
    """Set a ready or suspended task's priority (`urgent`, `high`, `normal`, `low`); empty = derived again."""
    name = (priority or "").strip() or None
    if name is not None and name not in PRIORITIES:
        raise PriorityInvalid(f"priority must be one of {', '.join(PRIORITIES)} (or empty for automatic)")
    instance_id = _task_instance_id(db, task_id)
    with db.transaction() as session:
        instance, user = _locked_for_manager(session, instance_id, user_id)
        task = session.get(HumanTask, task_id, populate_existing=True)
        if task.status not in (TaskStatus.READY, TaskStatus.SUSPENDED):
            raise TaskNotReady(f"task {task_id} is {task.status.value}, no longer ready")
        previous = NAMES.get(task.priority) if task.priority is not None else None
        task.priority = PRIORITIES[name] if name else None
        audit.record(session, "task_priority_set", user.username, instance.id, task.id, task=task.name,
                     from_priority=previous, to_priority=name)
