"""Mirror the workflow's ready human tasks into the human_task table (the inbox reads only this table)."""

from __future__ import annotations

import datetime as dt

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from engine import clock
from engine.assignment import task_target
from engine.models import HumanTask, ProcessInstance, ProcessVersion, TaskStatus, User

ASSIGNEE_PROPERTY = "assigneeFrom"  # names a task-data key holding the username the task is narrowed to
DUE_PROPERTY = "dueIn"  # ISO 8601 duration from the moment the task became ready
DUE_AT_PROPERTY = "dueAtFrom"  # names a task-data key holding the ISO 8601 date-time the task is due


def _properties(task_spec) -> dict:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {})


def _narrowed_assignee(session: Session, spiff_task, props: dict) -> int | None:
    key = props.get(ASSIGNEE_PROPERTY)
    username = spiff_task.data.get(key) if key else None
    if not username:
        return None
    return session.scalar(select(User.id).where(User.username == str(username)))


def _due_at(spiff_task, props: dict, created: dt.datetime) -> dt.datetime | None:
    """A fixed due time from task data (`dueAtFrom`, e.g. the period's due date), else `dueIn` after now."""
    value = spiff_task.data.get(props[DUE_AT_PROPERTY]) if props.get(DUE_AT_PROPERTY) else None
    if isinstance(value, str):
        try:
            due = dt.datetime.fromisoformat(value)
        except ValueError:
            due = None
        if due is not None and due.tzinfo is not None:
            return due
    return created + clock.parse_duration(props[DUE_PROPERTY]) if props.get(DUE_PROPERTY) else None


def _new_row(session: Session, instance: ProcessInstance, version: ProcessVersion, spiff_task) -> HumanTask:
    return HumanTask(**_new_values(session, instance, version, spiff_task))


def _new_values(session: Session, instance: ProcessInstance, version: ProcessVersion, spiff_task) -> dict:
    spec = spiff_task.task_spec
    props = _properties(spec)
    lane = getattr(spec, "lane", None)
    role = version.lane_roles.get(lane, lane) if lane else None
    target = task_target(session, instance, role)
    created = clock.now()
    due = _due_at(spiff_task, props, created)
    return dict(
        instance_id=instance.id, task_guid=str(spiff_task.id), process_id=instance.process_id,
        name=spec.bpmn_id or spec.name, title=spec.bpmn_name or spec.bpmn_id or spec.name, lane=lane,
        role=target.role, agency_id=target.agency_id, instance_agency_id=instance.agency_id,
        assignee_id=_narrowed_assignee(session, spiff_task, props) or target.assignee_id,
        status=TaskStatus.READY, form_schema=props.get("formJsonSchemaFilename"),
        form_ui_schema=props.get("formUiSchemaFilename"), created_at=created, due_at=due,
    )


_TASKS = HumanTask.__table__.c
_ROWS_OF_INSTANCE = (select(_TASKS.id, _TASKS.task_guid, _TASKS.status)
                     .where(_TASKS.instance_id == bindparam("instance_id")))
_INSERT = insert(HumanTask.__table__)


def _ready_human_tasks(workflow: BpmnWorkflow, ready_tasks: list | None) -> dict:
    """The ready human tasks by task id (string), from the ready tasks given or from the workflow."""
    if ready_tasks is None:
        ready_tasks = workflow.get_tasks(state=TaskState.READY, manual=True)
    return {str(t.id): t for t in ready_tasks if t.task_spec.manual}


def sync_human_tasks(session: Session, instance: ProcessInstance, version: ProcessVersion,
                     workflow: BpmnWorkflow, ready_tasks: list | None = None) -> int:
    """Create rows for newly ready tasks, cancel rows whose task is no longer ready; return how many are ready.

    `ready_tasks`: the workflow's ready tasks if the caller has just listed them (the engine run ends that way),
    so the task tree is not walked again; the human ones among them are what is ready here.

    Core statements, not ORM loads and flushes (this runs on every completion): the instance's rows are read
    as (id, guid, status); a row the session holds (the task being completed) is changed through its object,
    so its pending changes count and it is written with them; the others are updated and new rows inserted
    directly.
    """
    ready = _ready_human_tasks(workflow, ready_tasks)
    with session.no_autoflush:
        rows = session.execute(_ROWS_OF_INSTANCE, {"instance_id": instance.id}).all()
    cancelled, again, seen = [], [], set()
    for row_id, guid, status in rows:
        held = session.identity_map.get(identity_key(HumanTask, row_id))
        status = held.status if held is not None else status
        seen.add(guid)
        if guid in ready:
            if status == TaskStatus.READY:
                continue
            if held is not None:  # the same task made ready again (reset, loop back)
                held.status, held.completed_at, held.completed_by_id = TaskStatus.READY, None, None
            else:
                again.append(row_id)
        elif status == TaskStatus.READY:
            if held is not None:
                held.status = TaskStatus.CANCELLED
            else:
                cancelled.append(row_id)
    table = HumanTask.__table__
    if cancelled:
        session.execute(update(table).where(table.c.id.in_(cancelled)).values(status=TaskStatus.CANCELLED))
    if again:
        session.execute(update(table).where(table.c.id.in_(again))
                        .values(status=TaskStatus.READY, completed_at=None, completed_by_id=None))
    new = [_new_values(session, instance, version, t) for guid, t in ready.items() if guid not in seen]
    if new:
        session.execute(_INSERT, new)
    return len(ready)
