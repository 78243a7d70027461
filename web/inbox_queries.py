"""The inbox's SQL: tabs (assigned to me, claimable by my roles, done by me, all I may see), filters, sorting,
counts. Plain indexed queries on human_task (joined with its instance); no workflow is ever loaded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import Select, and_, false, func, or_, select, union_all
from sqlalchemy.orm import Session

from engine import clock
from engine.assignment import APPLICANT, DELEGATING_ROLES, candidate_pairs, holds_master_role
from engine.calendar import end_of_day
from engine.models import Agency, HumanTask, ProcessInstance, ProcessVersion, TaskStatus, User
from engine.task_priority import PRIORITIES, escalation_processes, rank_expression, rank_of

TABS = ("todo", "assigned", "claimable", "completed", "all")
SORTS = ("due", "priority", "created", "process", "title", "completed")
ORDERS = ("asc", "desc")
PER_PAGE = 50


@dataclass(frozen=True)
class InboxQuery:
    """What the inbox shows: one tab, optionally filtered by process, due date and lateness, sorted, paged."""

    tab: str = "todo"
    process_id: str | None = None
    due_by: dt.date | None = None
    overdue: bool = False
    priority: str | None = None  # one of engine.task_priority.PRIORITIES
    sort: str = "due"
    order: str = "asc"
    page: int = 1

    @property
    def filtered(self) -> bool:
        return bool(self.process_id or self.due_by or self.overdue or self.priority)


@dataclass
class InboxRow:
    """One task row with what the page needs to offer claim or unclaim."""

    task: HumanTask
    may_claim: bool
    may_unclaim: bool
    priority: int = 3


def _pairs(session: Session, user: User) -> set[tuple[int, str]]:
    """The user's (agency, task role) pairs, read once per session (the counts and the page both need them)."""
    cache = session.info.setdefault("inbox_pairs", {})
    if user.id not in cache:
        cache[user.id] = candidate_pairs(session, user.id)
    return cache[user.id]


def _escalations(session: Session) -> tuple[str, ...]:
    """The escalation processes (their tasks are urgent), read once per session."""
    if "escalations" not in session.info:
        session.info["escalations"] = escalation_processes(session)
    return session.info["escalations"]


def _rank(session: Session):
    return rank_expression(clock.now(), _escalations(session))


def _started_by(user_id: int) -> Select:
    """Ids of the instances this user started (few; ix_process_instance_started_by)."""
    return select(ProcessInstance.id).where(ProcessInstance.started_by_id == user_id)


def _role_branches(pairs: set[tuple[int, str]]) -> list:
    """Unassigned ready tasks of a role I hold in its agency (callers add the separation of duties).

    One (status, agency, role) equality per pair: each branch is an ix_human_task_inbox lookup, so OR-ed branches
    read only these tasks (SQLite multi-index OR, PostgreSQL BitmapOr), never every ready task.
    """
    return [and_(HumanTask.status == TaskStatus.READY, HumanTask.agency_id == a, HumanTask.role == r,
                 HumanTask.assignee_id.is_(None)) for a, r in sorted(pairs)]


def _claimable(pairs: set[tuple[int, str]], user_id: int):
    branches = _role_branches(pairs)
    return and_(or_(*branches), HumanTask.instance_id.not_in(_started_by(user_id))) if branches else false()


def _mine(pairs: set[tuple[int, str]], user_id: int):
    """Assigned to me or claimable by me: engine.assignment.my_task_filter, in index-friendly branches."""
    assigned = and_(HumanTask.status == TaskStatus.READY, HumanTask.assignee_id == user_id)
    not_mine = HumanTask.instance_id.not_in(_started_by(user_id))
    # A flat OR of index lookups (each branch carrying its own separation-of-duties test): SQLite optimises
    # only a top-level OR whose every term can use an index.
    return or_(assigned, *[and_(branch, not_mine) for branch in _role_branches(pairs)])


ALL_STATUSES = tuple(TaskStatus)  # `status IN (every value)`: lets (status, ...) indexes serve any-status lookups


def visible_instance_ids(session: Session, user: User, pairs: set[tuple[int, str]] | None = None):
    """engine.assignment.visible_instance_filter, exactly, as a union of index lookups giving instance ids; None for
    a master-role holder (who sees every instance).

    Parts: instances of my agency and of the agencies it commissioned (a literal list, so the planner uses the
    index), those I started, those holding a task assigned to me (any status: a task I completed stays assigned to
    me), and those holding an unassigned task of a role I hold (any status). The rule's "not started by me" on the
    last part is left out: instances I started are in the union anyway.
    """
    if holds_master_role(session, user.id):
        return None
    pairs = _pairs(session, user) if pairs is None else pairs
    delegating = [a for a, r in pairs if r in DELEGATING_ROLES]
    agencies = list(session.scalars(select(Agency.id).where(
        or_(Agency.id == user.agency_id, Agency.delegated_by_id.in_(delegating or [-1])))))
    parts = [select(ProcessInstance.id).where(ProcessInstance.agency_id.in_(agencies)), _started_by(user.id),
             select(HumanTask.instance_id).where(HumanTask.status.in_(ALL_STATUSES), HumanTask.assignee_id == user.id)]
    branches = [and_(HumanTask.status.in_(ALL_STATUSES), HumanTask.agency_id == a, HumanTask.role == r,
                     HumanTask.assignee_id.is_(None)) for a, r in sorted(pairs)]
    if branches:
        parts.append(select(HumanTask.instance_id).where(or_(*branches)))
    return union_all(*parts)


def task_list_condition(session: Session, user: User, scope: str, status: TaskStatus):
    """The REST API's task list (`scope=mine|all`, `status=`) as index-friendly SQL on human_task alone, selecting
    exactly what engine.assignment's my_task_filter / visible_instance_filter select (tests/web/test_task_list.py)."""
    if scope == "mine":
        if status == TaskStatus.READY:
            return _mine(_pairs(session, user), user.id)
        return and_(HumanTask.status == status, HumanTask.completed_by_id == user.id)
    ids = visible_instance_ids(session, user)
    same_status = HumanTask.status == status
    return same_status if ids is None else and_(same_status, HumanTask.instance_id.in_(ids))


def _tab_condition(session: Session, user: User, tab: str, pairs: set[tuple[int, str]]):
    if tab == "assigned":
        return and_(HumanTask.status == TaskStatus.READY, HumanTask.assignee_id == user.id)
    if tab == "claimable":
        return _claimable(pairs, user.id)
    if tab == "completed":
        return and_(HumanTask.status == TaskStatus.COMPLETED, HumanTask.completed_by_id == user.id)
    if tab == "all":
        ids = visible_instance_ids(session, user, pairs)
        ready = HumanTask.status == TaskStatus.READY
        return ready if ids is None else and_(ready, HumanTask.instance_id.in_(ids))
    return _mine(pairs, user.id)


def _filtered(session: Session, query: Select, spec: InboxQuery) -> Select:
    if spec.priority in PRIORITIES:
        query = query.where(_rank(session) == PRIORITIES[spec.priority])
    if spec.process_id:
        query = query.where(HumanTask.process_id == spec.process_id)
    if spec.due_by:
        query = query.where(HumanTask.due_at <= end_of_day(spec.due_by))
    if spec.overdue:
        late = HumanTask.due_at < (HumanTask.completed_at if spec.tab == "completed" else clock.now())
        query = query.where(late)
    return query


def _ordered(session: Session, query: Select, spec: InboxQuery) -> Select:
    desc = spec.order == "desc"
    if spec.sort == "priority":
        rank = _rank(session)
        keys = [rank.desc() if desc else rank.asc(), HumanTask.due_at.is_(None), HumanTask.due_at]
        return query.order_by(*keys, HumanTask.created_at, HumanTask.id)
    column = {"created": HumanTask.created_at, "process": HumanTask.process_id, "title": HumanTask.title,
              "completed": HumanTask.completed_at}.get(spec.sort, HumanTask.due_at)
    keys = [column.is_(None), column.desc() if desc else column.asc()]  # no due date: always last
    if spec.sort != "due":
        keys += [HumanTask.due_at.is_(None), HumanTask.due_at]
    return query.order_by(*keys, HumanTask.created_at, HumanTask.id)


def _base(session: Session, user: User, spec: InboxQuery, pairs: set[tuple[int, str]], column) -> Select:
    query = select(column).select_from(HumanTask).where(_tab_condition(session, user, spec.tab, pairs))
    return _filtered(session, query, spec)


def tab_counts(session: Session, user: User, spec: InboxQuery) -> dict[str, int]:
    """How many tasks each tab holds with the current filters (`todo` = assigned + claimable)."""
    pairs = _pairs(session, user)
    counts = {}
    for tab in ("assigned", "claimable", "completed", "all"):
        # count(*), not count(id): PostgreSQL may then answer from the index alone
        query = _base(session, user, replace(spec, tab=tab), pairs, func.count())
        counts[tab] = int(session.scalar(query) or 0)
    counts["todo"] = counts["assigned"] + counts["claimable"]
    return counts


def inbox_page(session: Session, user: User, spec: InboxQuery) -> list[InboxRow]:
    """One page of the tab's tasks, sorted, each marked with whether I may claim or unclaim it here."""
    pairs = _pairs(session, user)
    query = _ordered(session, _base(session, user, spec, pairs, HumanTask), spec)
    tasks = list(session.scalars(query.limit(PER_PAGE).offset((max(spec.page, 1) - 1) * PER_PAGE)))
    mine = set(session.scalars(_started_by(user.id).where(ProcessInstance.id.in_({t.instance_id for t in tasks}))))
    result = []
    now, escalations = clock.now(), _escalations(session)
    for task in tasks:
        team_task = task.status == TaskStatus.READY and task.role not in (None, APPLICANT)
        may_claim = (team_task and task.assignee_id is None and (task.agency_id, task.role) in pairs
                     and task.instance_id not in mine)
        result.append(InboxRow(task, may_claim, team_task and task.assignee_id == user.id,
                               rank_of(task, now, escalations)))
    return result


def process_catalogue(session: Session) -> list[dict]:
    """The newest version of every deployed process: id, name, version, executable (never the stored spec,
    which is large and not needed to list processes)."""
    newest = (select(ProcessVersion.process_id, func.max(ProcessVersion.deployment_id).label("dep"))
              .group_by(ProcessVersion.process_id).subquery())
    rows = session.execute(
        select(ProcessVersion.process_id, ProcessVersion.name, ProcessVersion.deployment_id,
               ProcessVersion.is_executable)
        .join(newest, and_(ProcessVersion.process_id == newest.c.process_id,
                           ProcessVersion.deployment_id == newest.c.dep))
        .order_by(ProcessVersion.process_id))
    return [{"process_id": pid, "name": name or pid, "version": version, "is_executable": bool(executable)}
            for pid, name, version, executable in rows]
