"""Read-side helpers shared by the REST API and the HTML pages: visible tasks and instances as dicts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, and_, exists, func, select, true
from sqlalchemy.orm import Session, defer

from engine import clock
from engine.assignment import can_see_instance
from engine.audit import events_of
from engine.calendar import end_of_day, start_of_day
from engine.models import Agency, AuditEvent, HumanTask, InstanceStatus, ProcessInstance, TaskStatus, User
from engine.runtime import NotFound
from web.inbox_queries import (
    DUE_ORDER,
    keyed,
    my_tasks,
    order_by,
    page_of,
    task_list_parts,
    visible_instance_parts,
)

TASK_SCOPES = ("mine", "all")
TASK_STATUSES = (TaskStatus.READY.value, TaskStatus.COMPLETED.value)
INSTANCE_STATUSES = tuple(s.value for s in InstanceStatus)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with offset (stored times are aware UTC)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


class Names:
    """Agency codes and usernames for a batch of rows, read in one query each (not one lookup per row)."""

    def __init__(self, session: Session, agency_ids, user_ids):
        self.agencies = self._read(session, Agency, Agency.code, set(agency_ids) - {None})
        self.users = self._read(session, User, User.username, set(user_ids) - {None})

    @staticmethod
    def _read(session: Session, model, column, ids: set[int]) -> dict[int, str]:
        """Those already loaded in the session (the viewer, their agency) without SQL, the rest in one query."""
        found = {}
        for i in ids:
            row = session.identity_map.get(session.identity_key(model, i))
            if row is not None:
                found[i] = getattr(row, column.key)
        missing = ids - found.keys()
        if missing:
            found.update({i: value for i, value in session.execute(
                select(model.id, column).where(model.id.in_(missing)))})
        return found

    @classmethod
    def of(cls, session: Session, tasks=(), instances=()) -> Names:
        return cls(session, [t.agency_id for t in tasks] + [i.agency_id for i in instances],
                   [t.assignee_id for t in tasks] + [t.completed_by_id for t in tasks]
                   + [i.started_by_id for i in instances])

    def agency(self, agency_id: int | None) -> str | None:
        return self.agencies.get(agency_id)

    def user(self, user_id: int | None) -> str | None:
        return self.users.get(user_id)


def task_dict(session: Session, task: HumanTask, names: Names | None = None) -> dict:
    """A task as the API and pages show it (`names`: the batch's agency codes and usernames, if read)."""
    names = names or Names.of(session, tasks=[task])
    return {
        "id": task.id, "instance_id": task.instance_id, "process_id": task.process_id, "name": task.name,
        "title": task.title or task.name, "lane": task.lane, "role": task.role,
        "agency": names.agency(task.agency_id), "assignee": names.user(task.assignee_id),
        "status": task.status.value, "created_at": iso(task.created_at), "due_at": iso(task.due_at),
        "completed_at": iso(task.completed_at), "completed_by": names.user(task.completed_by_id),
    }


def task_dicts(session: Session, tasks: list[HumanTask]) -> list[dict]:
    """task_dict of each task, with two queries for the whole list."""
    names = Names.of(session, tasks=tasks)
    return [task_dict(session, t, names) for t in tasks]


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


def _instance_dict(instance: ProcessInstance, ready: list[HumanTask], names: Names, session: Session) -> dict:
    return {
        "id": instance.id, "process_id": instance.process_id, "version": instance.version,
        "agency": names.agency(instance.agency_id), "status": instance.status.value,
        "started_at": iso(instance.started_at), "ended_at": iso(instance.ended_at),
        "started_by": names.user(instance.started_by_id),
        "ready_tasks": [task_dict(session, t, names) for t in ready],
    }


def instance_dict(session: Session, instance: ProcessInstance, with_history: bool = False) -> dict:
    """An instance with its ready tasks (and its audit history when asked)."""
    ready = ready_tasks(session, instance.id)
    result = _instance_dict(instance, ready, Names.of(session, ready, [instance]), session)
    if with_history:
        result["history"] = [event_dict(e) for e in events_of(session, instance.id)]
    return result


def instance_dicts(session: Session, instances: list[ProcessInstance]) -> list[dict]:
    """instance_dict of each instance (no history), with three queries for the whole list, not three per row."""
    ids = [i.id for i in instances]
    ready: dict[int, list[HumanTask]] = {i: [] for i in ids}
    if ids:
        for task in session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(ids),
                                                            HumanTask.status == TaskStatus.READY)
                                    .order_by(HumanTask.instance_id, HumanTask.id)):
            ready[task.instance_id].append(task)
    names = Names.of(session, [t for tasks in ready.values() for t in tasks], instances)
    return [_instance_dict(i, ready[i.id], names, session) for i in instances]


def _with_total(session: Session, query: Select, counts: list) -> tuple[list, int]:
    """The page's rows (one entity each) and the list's total, the sum of `counts` (scalar subqueries, each from its
    own index), in one statement: the total is an uncorrelated column, computed once (PostgreSQL: an InitPlan). A
    page past the end has no row to carry it and is counted apart."""
    total = sum(counts[1:], counts[0]).label("total")
    rows = session.execute(query.add_columns(total)).all()
    if rows:
        return [row[0] for row in rows], int(rows[0][1])
    return [], int(session.scalar(select(total)) or 0)


def list_tasks(session: Session, user: User, scope: str = "mine", status: str = "ready",
               process_id: str | None = None, page: int = 1,
               per_page: int = 50) -> tuple[list[HumanTask], int]:
    """Tasks for an inbox: `mine` (assigned to or claimable by me / completed by me) or `all` I may see.

    The SQL is web.inbox_queries.task_list_parts: human_task alone, each part an index lookup (the engine
    rule's shape, an OR nested in an AND over a join, read every ready task: slow at 500,000 rows)."""
    if scope not in TASK_SCOPES or status not in TASK_STATUSES:
        raise ValueError(f"scope must be one of {TASK_SCOPES} and status one of {TASK_STATUSES}")
    parts = task_list_parts(session, user, scope, TaskStatus(status))
    if process_id:
        parts = [and_(part, HumanTask.process_id == process_id) for part in parts]
    # the total: the sum of the disjoint parts' counts, each from its own index (the tasks of my agencies' instances
    # from ix_human_task_instance_agency_due alone)
    counts = [select(func.count()).select_from(HumanTask).where(part).scalar_subquery() for part in parts]
    # the page cut from narrow rows (id and sort keys), then only its rows read in full: the visible set's parts
    # each from its own index, my ready tasks from one OR (web.inbox_queries.my_tasks)
    if scope == "mine" and status == TaskStatus.READY.value:
        mine = my_tasks(session, user)
        parts = [and_(mine, HumanTask.process_id == process_id) if process_id else mine]
    ids = page_of([keyed(part, DUE_ORDER) for part in parts], DUE_ORDER, per_page, (max(page, 1) - 1) * per_page)
    return _with_total(session, select(HumanTask).join(ids, HumanTask.id == ids.c.id).order_by(*order_by(DUE_ORDER)),
                       counts)


INSTANCE_ORDER = [(ProcessInstance.started_at, True), (ProcessInstance.id, True)]  # newest first


def list_instances(session: Session, user: User, process_id: str | None = None, agency: str | None = None,
                   status: str | None = None, page: int = 1, per_page: int = 50,
                   started: tuple[dt.date | None, dt.date | None] = (None, None),
                   overdue: bool = False) -> tuple[list[ProcessInstance], int]:
    """Instances I may see, newest first; an agency I may not see simply gives nothing. `started` = (first
    day, last day) of the start date in the local zone, either end open; `overdue` = a ready task past due.

    The visible-instance rule's disjoint parts (web.inbox_queries.visible_instance_parts) are counted apart and the
    page is cut from narrow rows (id, start time: ix_process_instance_agency_status_started for my agencies'
    instances), then only its rows are read, without the stored workflow state (large, never needed to list)."""
    if status and status not in INSTANCE_STATUSES:
        raise ValueError(f"status must be one of {INSTANCE_STATUSES}")
    filters = []
    if process_id:
        filters.append(ProcessInstance.process_id == process_id)
    if agency:
        filters.append(ProcessInstance.agency_id == select(Agency.id).where(Agency.code == agency.upper())
                       .scalar_subquery())
    if status:
        filters.append(ProcessInstance.status == InstanceStatus(status))
    if started[0]:
        filters.append(ProcessInstance.started_at >= start_of_day(started[0]))
    if started[1]:
        filters.append(ProcessInstance.started_at <= end_of_day(started[1]))
    if overdue:
        filters.append(exists().where(HumanTask.instance_id == ProcessInstance.id,
                                      HumanTask.status == TaskStatus.READY, HumanTask.due_at < clock.now()))
    parts = [and_(part, *filters) for part in visible_instance_parts(session, user) or [true()]]
    counts = [select(func.count()).select_from(ProcessInstance).where(part).scalar_subquery() for part in parts]
    ids = page_of([keyed(part, INSTANCE_ORDER, ProcessInstance.id) for part in parts], INSTANCE_ORDER, per_page,
                  (max(page, 1) - 1) * per_page)
    return _with_total(session, select(ProcessInstance).options(defer(ProcessInstance.state))
                       .join(ids, ProcessInstance.id == ids.c.id).order_by(*order_by(INSTANCE_ORDER)), counts)


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
