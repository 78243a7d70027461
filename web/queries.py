"""Read-side helpers shared by the REST API and the HTML pages: visible tasks and instances as dicts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.assignment import can_see_instance
from engine.audit import events_of
from engine.calendar import end_of_day, start_of_day
from engine.models import Agency, AuditEvent, HumanTask, InstanceStatus, ProcessInstance, TaskStatus, User
from engine.runtime import NotFound
from web.inbox_queries import task_list_condition, visible_instance_ids

TASK_SCOPES = ("mine", "all")
TASK_STATUSES = (TaskStatus.READY.value, TaskStatus.COMPLETED.value)
INSTANCE_STATUSES = tuple(s.value for s in InstanceStatus)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with offset (stored times are aware UTC)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def _remembered(session: Session, model: type, row_id: int | None, attribute: str) -> str | None:
    """A username or agency code by id, read once per session: the session's identity map holds rows only while
    something refers to them, so a page of tasks would read the same agency again for each task."""
    if row_id is None:
        return None
    names = session.info.setdefault("webir_names", {})
    key = (model.__name__, row_id)
    if key not in names:
        row = session.get(model, row_id)
        names[key] = getattr(row, attribute) if row else None
    return names[key]


def _username(session: Session, user_id: int | None) -> str | None:
    return _remembered(session, User, user_id, "username")


def _agency_code(session: Session, agency_id: int | None) -> str | None:
    return _remembered(session, Agency, agency_id, "code")


def task_dict(session: Session, task: HumanTask) -> dict:
    """A task as the API and pages show it."""
    return {
        "id": task.id, "instance_id": task.instance_id, "process_id": task.process_id, "name": task.name,
        "title": task.title or task.name, "lane": task.lane, "role": task.role,
        "agency": _agency_code(session, task.agency_id), "assignee": _username(session, task.assignee_id),
        "status": task.status.value, "created_at": iso(task.created_at), "due_at": iso(task.due_at),
        "completed_at": iso(task.completed_at), "completed_by": _username(session, task.completed_by_id),
    }


def event_dict(event: AuditEvent) -> dict:
    """An audit event as the API shows it."""
    return {
        "id": event.id, "at": iso(event.at), "actor": event.actor, "action": event.action,
        "instance_id": event.instance_id, "task_id": event.task_id, "status_before": event.status_before,
        "status_after": event.status_after, "detail": event.detail or {},
    }


def ready_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    """All ready human tasks of an instance (shown to anyone who may see the instance), as stored now: a row the
    session already holds (e.g. the request's session, from before an engine write) is refreshed."""
    return list(session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.READY)
        .order_by(HumanTask.id).execution_options(populate_existing=True)
    ))


def instance_dict(session: Session, instance: ProcessInstance, with_history: bool = False) -> dict:
    """An instance with its ready tasks (and its audit history when asked)."""
    result = {
        "id": instance.id, "process_id": instance.process_id, "version": instance.version,
        "agency": _agency_code(session, instance.agency_id), "status": instance.status.value,
        "started_at": iso(instance.started_at), "ended_at": iso(instance.ended_at),
        "started_by": _username(session, instance.started_by_id),
        "ready_tasks": [task_dict(session, t) for t in ready_tasks(session, instance.id)],
    }
    if with_history:
        result["history"] = [event_dict(e) for e in events_of(session, instance.id)]
    return result


def _page(session: Session, query: Select, page: int, per_page: int) -> tuple[list, int]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return list(rows), int(total or 0)


def _where_visible(session: Session, query: Select, user: User) -> Select:
    """Instances the user may see (engine.assignment.visible_instance_filter as a union of index lookups)."""
    ids = visible_instance_ids(session, user)
    return query if ids is None else query.where(ProcessInstance.id.in_(ids))


def list_tasks(session: Session, user: User, scope: str = "mine", status: str = "ready",
               process_id: str | None = None, page: int = 1,
               per_page: int = 50) -> tuple[list[HumanTask], int]:
    """Tasks for an inbox: `mine` (assigned to or claimable by me / completed by me) or `all` I may see.

    The SQL is web.inbox_queries.task_list_condition: human_task alone, each part an index lookup (the engine
    rule's shape, an OR nested in an AND over a join, read every ready task: slow at 500,000 rows)."""
    if scope not in TASK_SCOPES or status not in TASK_STATUSES:
        raise ValueError(f"scope must be one of {TASK_SCOPES} and status one of {TASK_STATUSES}")
    condition = task_list_condition(session, user, scope, TaskStatus(status))
    if process_id:
        condition = and_(condition, HumanTask.process_id == process_id)
    total = session.scalar(select(func.count()).select_from(HumanTask).where(condition))
    query = (select(HumanTask).where(condition)
             .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at, HumanTask.id))
    rows = session.scalars(query.limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return list(rows), int(total or 0)


def list_instances(session: Session, user: User, process_id: str | None = None, agency: str | None = None,
                   status: str | None = None, page: int = 1, per_page: int = 50,
                   started: tuple[dt.date | None, dt.date | None] = (None, None),
                   overdue: bool = False) -> tuple[list[ProcessInstance], int]:
    """Instances I may see, newest first; an agency I may not see simply gives nothing. `started` = (first
    day, last day) of the start date in the local zone, either end open; `overdue` = a ready task past due."""
    if status and status not in INSTANCE_STATUSES:
        raise ValueError(f"status must be one of {INSTANCE_STATUSES}")
    query = _where_visible(session, select(ProcessInstance), user)
    if process_id:
        query = query.where(ProcessInstance.process_id == process_id)
    if agency:
        query = query.join(Agency, Agency.id == ProcessInstance.agency_id).where(
            Agency.code == agency.upper())
    if status:
        query = query.where(ProcessInstance.status == InstanceStatus(status))
    if started[0]:
        query = query.where(ProcessInstance.started_at >= start_of_day(started[0]))
    if started[1]:
        query = query.where(ProcessInstance.started_at <= end_of_day(started[1]))
    if overdue:
        query = query.where(exists().where(HumanTask.instance_id == ProcessInstance.id,
                                           HumanTask.status == TaskStatus.READY, HumanTask.due_at < clock.now()))
    query = query.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
    return _page(session, query, page, per_page)


def visible_instance(session: Session, user: User, instance_id: int) -> ProcessInstance:
    """The instance, or NotFound when it is missing or not visible to this user."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not can_see_instance(session, user, instance.id):
        raise NotFound(f"process instance {instance_id} not found")
    return instance


def visible_task(session: Session, user: User, task_id: int, fresh: bool = False) -> HumanTask:
    """The task, or NotFound when it is missing or its instance is not visible to this user; `fresh`: read it
    again even if the session holds it (after an engine write)."""
    task = session.get(HumanTask, task_id, populate_existing=fresh)
    if task is None or not can_see_instance(session, user, task.instance_id):
        raise NotFound(f"task {task_id} not found")
    return task
