"""Start instances and complete tasks: load -> apply -> run engine steps -> save, in one transaction.

Every write runs under the per-instance lock and saves state, task rows, outbox, next timer due and audit
events together, so a crash never leaves them disagreeing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from engine import audit, clock, task_files
from engine.assignment import NotAllowed, check_may_complete, sees_instance
from engine.db import Database
from engine.forms import forbidden_keys
from engine.human_tasks import sync_human_tasks
from engine.locking import InstanceNotFound, lock_instance, lock_instance_of_task
from engine.models import (
    Agency,
    HumanTask,
    InstanceStatus,
    OutboxMessage,
    ProcessInstance,
    ProcessVersion,
    TaskDraft,
    TaskStatus,
    User,
)
from engine.scripts import REGISTRY, ServiceCall, script_engine
from engine.settings import instance_path
from engine.specs import compiled_form, latest_version
from engine.start_rules import check_may_start
from engine.state import dump_event, dump_state, load_workflow, new_workflow

MAX_ENGINE_PASSES = 50
SYSTEM_ACTOR = "system"
TIMER_EVENT_TYPES = ("TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition")
FINISHED = (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED)


class NotFound(LookupError):
    """Not found, or not visible to this user (never reveal another agency's objects)."""


class TaskNotReady(Exception):
    """The task was completed or cancelled already."""


class FormInvalid(ValueError):
    """Submitted data failed validation; `fields` maps field -> message."""

    def __init__(self, fields: dict[str, str]):
        self.fields = fields
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))


@dataclass
class HostContext:
    """What service-task handlers see: the open transaction, the instance, and who acted."""

    session: Session
    instance: ProcessInstance
    actor: User | None


def _check_data(data) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FormInvalid({"_form": "資料必須是物件 data must be a JSON object"})
    bad = forbidden_keys(data)
    if bad:
        raise FormInvalid(dict.fromkeys(bad, "保留字 'typename' is a reserved key"))
    return data


def _injected(user: User, agency: Agency) -> dict:
    """Data the engine puts into every new instance: who started it, for which agency."""
    return {
        "applicant": user.username, "applicant_name": user.display_name or user.username,
        "applicant_is_vendor": bool(user.is_vendor), "agency": agency.code, "agency_name": agency.name,
        "started_at": clock.now().isoformat(),
    }


def _run_engine(workflow: BpmnWorkflow) -> list | None:
    """Run engine steps until only human tasks, timers or messages are left (the clock read once for it all);
    returns the ready human tasks then (the last check's walk of the task tree), None after MAX_ENGINE_PASSES."""
    with clock.one_reading():
        for _ in range(MAX_ENGINE_PASSES):
            workflow.refresh_timers()
            workflow.do_engine_steps()
            ready = workflow.get_tasks(state=TaskState.READY)
            if not any(not task.task_spec.manual for task in ready):
                return ready
    return None


def _error_text(exc: SpiffWorkflowException) -> str:
    """What the instance shows for a failed step: the element (and script line) where known, then the error."""
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None)
    where = (getattr(spec, "bpmn_id", None) or getattr(spec, "name", "")) if spec is not None else ""
    line = getattr(exc, "line_number", 0) or 0
    where = f"{where} line {line}" if where and line else where
    text = str(exc).split("\n")[0]
    return (f"{where}: {text}" if where and not text.startswith(where) else text)[:2000]


def _next_timer_due(waiting: list) -> dt.datetime | None:
    """The earliest due time of the waiting timers among the workflow's waiting events (what the scheduler wakes
    it for)."""
    due = []
    for event in waiting:
        if event.event_type not in TIMER_EVENT_TYPES or not isinstance(event.value, str):
            continue
        try:
            due.append(TimerEventDefinition.get_datetime(event.value))
        except ValueError:
            continue
    return min(due) if due else None


def _drain_events(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow) -> bool:
    """Persist thrown messages now: get_events() empties the workflow's own outbox. True if it threw any."""
    threw = False
    for event in workflow.get_events():
        if isinstance(event, BpmnEvent) and isinstance(event.event_definition, MessageEventDefinition):
            threw = True
            session.add(OutboxMessage(
                instance_id=instance.id, name=event.event_definition.name,
                payload=_jsonable(event.payload), correlations=_jsonable(event.correlations or {}),
                created_at=clock.now(), event_json=dump_event(event),
            ))
    return threw


def _jsonable(value) -> dict:
    value = value if isinstance(value, dict) else {"value": value}
    return json.loads(json.dumps(value, default=str))


def _waits_for(waiting: list) -> str | None:
    """The messages among the workflow's waiting events, as "|name|name|"."""
    names = sorted({e.name for e in waiting if e.event_type.endswith("MessageEventDefinition")})
    return "|" + "|".join(names) + "|" if names else None


def advance(session: Session, instance: ProcessInstance, version: ProcessVersion, workflow: BpmnWorkflow,
            actor: User | None, before: str | None) -> None:
    """Run the workflow forward and save everything about it in the current transaction.

    The one way to move a loaded workflow on (start, completion, timer, message, resume, migration): the caller
    holds the instance lock and passes the instance status it found (`before`) so a change is audited.
    """
    ready_tasks, error = None, None
    try:
        ready_tasks = _run_engine(workflow)
    except SpiffWorkflowException as exc:
        error = _error_text(exc)
    ready = sync_human_tasks(session, instance, version, workflow, ready_tasks)
    threw = _drain_events(session, instance, workflow)
    saved = {"error_message": error}
    if error:
        saved["status"] = InstanceStatus.ERROR
    elif workflow.is_completed():
        saved["status"], saved["ended_at"] = InstanceStatus.COMPLETED, clock.now()
    else:
        saved["status"] = InstanceStatus.RUNNING if ready else InstanceStatus.WAITING
    waiting = workflow.waiting_events()  # one walk of the task tree for both
    saved.update(state=dump_state(workflow), next_due_at=_next_timer_due(waiting), waits_for=_waits_for(waiting),
                 updated_at=clock.now())
    _save_instance(session, instance, saved)
    if threw or instance.waits_for:  # a message to hand on, or one kept in the outbox may now find its receiver
        session.info[_DELIVER_AFTER_COMMIT] = True
    if instance.status.value != before:
        who = actor.username if actor else None
        detail = {"error": instance.error_message} if instance.error_message else {}
        audit.record(session, f"instance_{instance.status.value}", who, instance.id, before=before,
                     after=instance.status.value, **detail)


_INSTANCES = ProcessInstance.__table__
_SAVE_INSTANCE = update(_INSTANCES).where(_INSTANCES.c.id == bindparam("instance_id_"))


def _save_instance(session: Session, instance: ProcessInstance, values: dict) -> None:
    """Write the instance's columns that advance() sets in one Core UPDATE (built once; every completion saves),
    and give the loaded object the same values as committed ones, so no ORM flush writes them again. Changes a
    service task made to the object meanwhile are flushed before it, as the ORM would have ordered them."""
    session.execute(_SAVE_INSTANCE, {"instance_id_": instance.id, **values})
    for name, value in values.items():
        set_committed_value(instance, name, value)


def _start_agency(session: Session, user: User, agency_code: str | None) -> Agency:
    if not agency_code or agency_code == user.agency.code:
        return user.agency
    agency = session.scalar(select(Agency).where(Agency.code == agency_code))
    if agency is None:
        raise NotFound(f"agency '{agency_code}' not found")
    return agency


def new_instance_row(session: Session, version: ProcessVersion, agency: Agency, user: User | None) -> ProcessInstance:
    """The row of a new instance (flushed, so it has its id)."""
    instance = ProcessInstance(process_id=version.process_id, process_version_id=version.id,
                               version=version.deployment_id, agency_id=agency.id,
                               started_by_id=user.id if user else None, status=InstanceStatus.RUNNING,
                               started_at=clock.now(), state=b"")
    session.add(instance)
    session.flush()
    return instance


def start_in_session(session: Session, version: ProcessVersion, agency: Agency, user: User | None,
                     data: dict | None = None) -> ProcessInstance:
    """Start an instance inside the caller's transaction (the scheduler opens periods this way)."""
    data = _check_data(data)
    instance = new_instance_row(session, version, agency, user)
    workflow = new_workflow(version, script_engine(HostContext(session, instance, user)))
    injected = _injected(user, agency) if user else {"agency": agency.code, "agency_name": agency.name,
                                                     "started_at": clock.now().isoformat()}
    workflow.task_tree.data.update({**data, **injected})
    who = user.username if user else SYSTEM_ACTOR
    audit.record(session, "instance_started", who, instance.id, after="running",
                 process_id=version.process_id, version=version.deployment_id)
    advance(session, instance, version, workflow, user, "running")
    return instance


def start_instance(db: Database, process_id: str, user_id: int, agency_code: str | None = None,
                   data: dict | None = None) -> int:
    """Start the latest version of a process for an agency; returns the new instance id."""
    data = _check_data(data)
    with db.transaction() as session:
        user = session.get(User, user_id)
        version = latest_version(session, process_id)
        if version is None or not version.is_executable:
            raise NotFound(f"process '{process_id}' is not deployed")
        agency = _start_agency(session, user, agency_code)
        check_may_start(session, user, agency, version)  # master roles, or `startableBy` (start_rules.py)
        instance_id = start_in_session(session, version, agency, user, data).id
        deliver = _delivers(session)
    if deliver:
        deliver_messages(db)
    return instance_id


def fire_timers(db: Database, instance_id: int) -> bool:
    """Wake an instance whose timer is due; a no-op (False) when nothing is due any more.

    Idempotent under the lock: a second scheduler, or a retry, finds next_due_at moved on and does nothing.
    """
    with db.transaction() as session:
        try:
            instance = lock_instance(session, instance_id)
        except InstanceNotFound:
            return False
        due = instance.next_due_at
        if due is None or due > clock.now() or instance.status in FINISHED:
            return False
        version = session.get(ProcessVersion, instance.process_version_id)
        workflow = load_workflow(version, instance.state, script_engine(HostContext(session, instance, None)))
        audit.record(session, "timer_fired", SYSTEM_ACTOR, instance.id, before=instance.status.value,
                     due_at=due.isoformat())
        advance(session, instance, version, workflow, None, instance.status.value)
        deliver = _delivers(session)
    if deliver:
        deliver_messages(db)
    return True


_DELIVER_AFTER_COMMIT = "deliver_after_commit"  # session.info: advance() threw or now waits for a message


def _delivers(session: Session) -> bool:
    """Whether the transaction's instance threw a message or waits for one: only then can a delivery after
    its commit find anything new to do (messages kept for lack of a receiver are retried by the sweep)."""
    return bool(session.info.get(_DELIVER_AFTER_COMMIT))


def deliver_messages(db: Database) -> None:
    """After a commit: hand the messages it threw to their receivers (engine/messages.py)."""
    from engine import messages  # imported here: messages builds on this module

    messages.deliver_pending(db)


_TASKS, _DRAFTS = HumanTask.__table__.c, TaskDraft.__table__.c  # Core columns: statements built once, below
_TASK_ROW = select(_TASKS.id, _TASKS.instance_id, _TASKS.name, _TASKS.role, _TASKS.agency_id, _TASKS.assignee_id,
                   _TASKS.status, _TASKS.form_schema, _TASKS.task_guid,
                   select(_DRAFTS.id).where(_DRAFTS.task_id == _TASKS.id).exists().label("has_draft"),
                   ).where(_TASKS.id == bindparam("task_id"))


def _locked_task(session: Session, task_id: int, user: User):
    """Lock the task's instance (the transaction's first write: see engine/locking.py) and check, in this
    order, that the user may see it (else not found) and that the task is still ready.

    The task comes back as a read-only row (a Core select, not an ORM load: this runs on every completion) with
    `has_draft`, whether any form draft of it exists (read under the instance lock, which saving a draft takes
    too, so none can appear before this transaction ends); change it with _update_task.
    """
    try:
        instance = lock_instance_of_task(session, task_id)
    except InstanceNotFound:
        raise NotFound(f"task {task_id} not found") from None
    with session.no_autoflush:
        task = session.execute(_TASK_ROW, {"task_id": task_id}).one()
    if not sees_instance(session, user, instance):
        raise NotFound(f"task {task_id} not found")
    if task.status != TaskStatus.READY:
        raise TaskNotReady(f"task {task_id} is {task.status.value}, no longer ready")
    return instance, task


_UPDATE_TASK = update(HumanTask.__table__).where(_TASKS.id == bindparam("task_id_"))
# The acting user without the agency its mapping joins in (read when used), and a version as a read-only row:
# statements built once, for every completion.
_ACTOR = select(User).where(User.id == bindparam("user_id")).options(lazyload(User.agency))
_VERSION = select(ProcessVersion.__table__).where(ProcessVersion.__table__.c.id == bindparam("version_id"))


def _actor(session: Session, user_id: int) -> User | None:
    return session.scalars(_ACTOR, {"user_id": user_id}).first()


def _version_row(session: Session, version_id: int):
    """A process version's columns as a read-only row (versions never change once deployed)."""
    return session.execute(_VERSION, {"version_id": version_id}).one()


def _update_task(session: Session, task_id: int, **values) -> None:
    """Change a task row directly (Core; the ORM object, if this session holds one, follows)."""
    session.execute(_UPDATE_TASK, {"task_id_": task_id, **values})  # SET the columns given
    held = session.identity_map.get(identity_key(HumanTask, task_id))
    if held is not None:
        for name, value in values.items():
            set_committed_value(held, name, value)


def complete_task(db: Database, task_id: int, user_id: int, data: dict | None,
                  uploads: dict[str, task_files.Upload] | None = None) -> int:
    """Validate the form data (files of file fields become evidence), complete the task and run the process
    on; returns the instance id."""
    written: list = []
    try:
        with db.transaction() as session:
            user = _actor(session, user_id)
            instance, task = _locked_task(session, task_id, user)
            instance_id = instance.id
            check_may_complete(session, user, task, instance)
            data = dict(_check_data(data))  # a copy: uploads add their references, the caller's dict stays
            form = compiled_form(session, instance.version, task.form_schema)
            schema = form.schema if form else None
            errors = task_files.store_uploads(session, instance_path(), schema, uploads or {}, data, user.username,
                                              instance.agency_id, instance.id, written)
            errors = {**(form.errors(data) if schema else {}), **errors}
            errors = errors or task_files.check_references(session, schema, data, instance.agency_id, uploads or {})
            if errors:
                raise FormInvalid(errors)
            _complete_in_session(session, instance, task, user, data)
            deliver = _delivers(session)
    except BaseException:
        task_files.discard(written)
        raise
    if deliver:
        deliver_messages(db)
    return instance_id


def _completion_errors(session: Session, instance: ProcessInstance, user: User, spiff_task, data: dict) -> dict:
    """The task's `completionCheck` (a registered check) on the data it would complete with."""
    name = ((getattr(spiff_task.task_spec, "extensions", None) or {}).get("properties") or {}).get("completionCheck")
    if not name:
        return {}
    check = REGISTRY.checks.get(name)
    if check is None:
        return {"_form": f"未登錄的完成檢查 No completion check is registered as '{name}'"}
    return check(ServiceCall({**spiff_task.data, **data}, {}, HostContext(session, instance, user))) or {}


def _complete_in_session(session: Session, instance: ProcessInstance, task, user: User,
                         data: dict) -> None:
    """Run the completed task on and save (the caller holds the lock and validated the data)."""
    version = _version_row(session, instance.process_version_id)
    workflow = load_workflow(version, instance.state,
                             script_engine(HostContext(session, instance, user)))
    spiff_task = workflow.get_task_from_id(UUID(task.task_guid))
    if spiff_task is None or spiff_task.state != TaskState.READY:
        raise TaskNotReady(f"task {task.id} is no longer ready")
    blocked = _completion_errors(session, instance, user, spiff_task, data)
    if blocked:
        raise FormInvalid(blocked)
    spiff_task.data.update(data)
    spiff_task.run()
    if task.has_draft:  # drafts end with the task
        session.execute(delete(TaskDraft).where(TaskDraft.task_id == task.id))
    _update_task(session, task.id, status=TaskStatus.COMPLETED, completed_at=clock.now(), completed_by_id=user.id,
                 assignee_id=user.id)
    audit.record(session, "task_completed", user.username, instance.id, task.id,
                 before=instance.status.value, after=None, task=task.name)
    advance(session, instance, version, workflow, user, instance.status.value)


def claim_task(db: Database, task_id: int, user_id: int, claim: bool = True) -> None:
    """Take a task (or give it back); only someone who may complete it can claim it."""
    with db.transaction() as session:
        user = session.get(User, user_id)
        instance, task = _locked_task(session, task_id, user)
        if claim:
            check_may_complete(session, user, task, instance)
            _update_task(session, task.id, assignee_id=user.id)
        else:
            if task.assignee_id != user.id or task.role in (None, "applicant"):
                raise NotAllowed("只能退回自己認領的任務 You can only unclaim a task you claimed")
            _update_task(session, task.id, assignee_id=None)
        audit.record(session, "task_claimed" if claim else "task_unclaimed", user.username, instance.id,
                     task.id, task=task.name)
