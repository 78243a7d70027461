"""Mirror the workflow's ready human tasks into the human_task table (the inbox reads only this table)."""

from __future__ import annotations

import datetime as dt

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

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
    spec = spiff_task.task_spec
    props = _properties(spec)
    lane = getattr(spec, "lane", None)
    role = version.lane_roles.get(lane, lane) if lane else None
    target = task_target(session, instance, role)
    created = clock.now()
    due = _due_at(spiff_task, props, created)
    return HumanTask(
        instance_id=instance.id, task_guid=str(spiff_task.id), process_id=instance.process_id,
        name=spec.bpmn_id or spec.name, title=spec.bpmn_name or spec.bpmn_id or spec.name, lane=lane,
        role=target.role, agency_id=target.agency_id, instance_agency_id=instance.agency_id,
        assignee_id=_narrowed_assignee(session, spiff_task, props) or target.assignee_id,
        status=TaskStatus.READY, form_schema=props.get("formJsonSchemaFilename"),
        form_ui_schema=props.get("formUiSchemaFilename"), created_at=created, due_at=due,
    )


def sync_human_tasks(session: Session, instance: ProcessInstance, version: ProcessVersion,
                     workflow: BpmnWorkflow) -> list[HumanTask]:
    """Create rows for newly ready tasks, cancel rows whose task is no longer ready; return the ready rows."""
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    with session.no_autoflush:  # loaded rows keep their pending changes; the one flush below writes them all
        rows = {r.task_guid: r for r in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id))}
    for guid, row in rows.items():
        if row.status == TaskStatus.READY and guid not in ready:
            row.status = TaskStatus.CANCELLED
    result = []
    for guid, spiff_task in ready.items():
        row = rows.get(guid)
        if row is None:
            row = _new_row(session, instance, version, spiff_task)
            session.add(row)
        elif row.status != TaskStatus.READY:  # the same task made ready again (reset, loop back)
            row.status, row.completed_at, row.completed_by_id = TaskStatus.READY, None, None
        result.append(row)
    session.flush()
    return result
