"""The inbox's SQL: tabs (assigned to me, claimable by my roles, done by me, all I may see), filters, sorting,
counts. Plain indexed queries on human_task (joined with its instance); no workflow is ever loaded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import Select, and_, false, func, or_, select, union_all
from sqlalchemy.orm import Session

from engine import clock
from engine.assignment import APPLICANT, DELEGATING_ROLES, active_roles, candidate_pairs, holds_master_role
from engine.calendar import end_of_day
from engine.models import Agency, HumanTask, ProcessInstance, ProcessVersion, TaskStatus, User
from engine.task_priority import PRIORITIES, escalation_processes, rank_expression, rank_of
from web.current_user import loaded_roles

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


@dataclass
class Viewer:
    """Who is looking, read once per session (the counts, the page and the visibility rule all need it): the
    (agency, role) pairs held now and those whose unassigned tasks they may take; whether a master role is held is
    read on first use."""

    user_id: int
    held: frozenset[tuple[int, str]]
    pairs: frozenset[tuple[int, str]]
    _master: bool | None = None

    def master(self, session: Session) -> bool:
        if self._master is None:
            self._master = holds_master_role(session, self.user_id, set(self.held))
        return self._master


def viewer(session: Session, user: User) -> Viewer:
    cache = session.info.setdefault("inbox_viewer", {})
    if user.id not in cache:
        held = loaded_roles(session, user.id)  # read by the login loader
        held = active_roles(session, user.id) if held is None else held
        cache[user.id] = Viewer(user.id, frozenset(held), frozenset(candidate_pairs(session, user.id, held)))
    return cache[user.id]


def _pairs(session: Session, user: User) -> frozenset[tuple[int, str]]:
    return viewer(session, user).pairs


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

    One (status, agency, role) equality per pair: each branch is an ix_human_task_inbox_role lookup, so OR-ed branches
    read only these tasks (SQLite multi-index OR, PostgreSQL BitmapOr), never every ready task.
    """
    return [and_(HumanTask.status == TaskStatus.READY, HumanTask.agency_id == a, HumanTask.role == r,
                 HumanTask.assignee_id.is_(None)) for a, r in sorted(pairs)]


def _claimable(pairs: set[tuple[int, str]], user_id: int):
    branches = _role_branches(pairs)
    return and_(or_(*branches), HumanTask.instance_id.not_in(_started_by(user_id))) if branches else false()


def _assigned(user_id: int):
    return and_(HumanTask.status == TaskStatus.READY, HumanTask.assignee_id == user_id)


def _mine(pairs: set[tuple[int, str]], user_id: int) -> list:
    """Assigned to me or claimable by me (engine.assignment.my_task_filter) as two disjoint conditions (assigned /
    unassigned), each counted from its own index: in one OR, SQLite counted the assigned branch from the role index,
    reading every ready task."""
    return [_assigned(user_id), _claimable(pairs, user_id)]


def _mine_any(pairs: set[tuple[int, str]], user_id: int):
    """The same set as one flat OR of index lookups, each branch carrying its own separation-of-duties test, to read
    a page from: SQLite optimises only a top-level OR whose every term can use an index, and PostgreSQL reads it as
    one BitmapOr (the union of the two parts made it plan parallel workers for a 50-row page)."""
    not_mine = HumanTask.instance_id.not_in(_started_by(user_id))
    return or_(_assigned(user_id), *[and_(branch, not_mine) for branch in _role_branches(pairs)])


def my_tasks(session: Session, user: User):
    """Ready tasks assigned to or claimable by me, as one condition to read a page from (_mine_any)."""
    return _mine_any(_pairs(session, user), user.id)


ALL_STATUSES = tuple(TaskStatus)  # `status IN (every value)`: lets (status, ...) indexes serve any-status lookups


def _visible_agency_ids(session: Session, user: User, pairs) -> list[int]:
    """My agency and those it commissioned (for its admin or head), read once per session."""
    cache = session.info.setdefault("inbox_agencies", {})
    key = (user.id, user.agency_id, frozenset(pairs))
    if key not in cache:
        delegating = [a for a, r in pairs if r in DELEGATING_ROLES]
        cache[key] = list(session.scalars(select(Agency.id).where(
            or_(Agency.id == user.agency_id, Agency.delegated_by_id.in_(delegating or [-1])))))
    return cache[key]


def _other_instances(user: User, pairs, agencies: list[int]) -> Select:
    """Ids of the instances outside my agencies that engine.assignment.visible_instance_filter lets me see (few):
    those I started, those holding a task assigned to me (any status: a task I completed stays assigned to me), and
    those holding an unassigned task of a role I hold (any status). The rule's "not started by me" on the last part
    is left out: instances I started are in the union anyway."""
    elsewhere = HumanTask.instance_agency_id.not_in(agencies)
    parts = [select(ProcessInstance.id).where(ProcessInstance.started_by_id == user.id,
                                              ProcessInstance.agency_id.not_in(agencies)),
             select(HumanTask.instance_id).where(HumanTask.status.in_(ALL_STATUSES), HumanTask.assignee_id == user.id,
                                                 elsewhere)]
    branches = [and_(HumanTask.status.in_(ALL_STATUSES), HumanTask.agency_id == a, HumanTask.role == r,
                     HumanTask.assignee_id.is_(None), elsewhere) for a, r in sorted(pairs)]
    if branches:
        parts.append(select(HumanTask.instance_id).where(or_(*branches)))
    return union_all(*parts)


def _in_others(session: Session, column, others: Select):
    """`column IN (others)`; PostgreSQL reads the ids once (`= ANY(ARRAY(...))`) so that an OR with it is one
    BitmapOr of index scans (SQLite's OR optimisation does the same with `IN (...)`)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == func.any(func.array(others.scalar_subquery()))
    return column.in_(others)


def visible_instance_parts(session: Session, user: User) -> list | None:
    """engine.assignment.visible_instance_filter, exactly, as two disjoint conditions on process_instance: the
    instances of my agency and of the agencies it commissioned (a literal list: one index range each), and the few
    others I may see (_other_instances); None for a master-role holder (who sees every instance)."""
    if viewer(session, user).master(session):
        return None
    pairs = _pairs(session, user)
    agencies = _visible_agency_ids(session, user, pairs)
    return [ProcessInstance.agency_id.in_(agencies),
            _in_others(session, ProcessInstance.id, _other_instances(user, pairs, agencies))]


def visible_task_parts(session: Session, user: User, status: TaskStatus,
                       pairs: set[tuple[int, str]] | None = None) -> list:
    """Tasks of `status` in the instances I may see (engine.assignment.visible_instance_filter, exactly), on
    human_task alone, as disjoint conditions (their OR is the set; the sum of their counts its count).

    Most such tasks belong to instances of my agencies: with the instance's agency on the task row
    (human_task.instance_agency_id) they are one range of ix_human_task_instance_agency_due, not one lookup per
    instance, and counted, filtered and ordered from that index alone. The other instances I may see
    (_other_instances), only those outside my agencies, which are few, are looked up one by one.
    """
    same_status = HumanTask.status == status
    if viewer(session, user).master(session):
        return [same_status]
    pairs = _pairs(session, user) if pairs is None else pairs
    agencies = _visible_agency_ids(session, user, pairs)
    in_others = _in_others(session, HumanTask.instance_id, _other_instances(user, pairs, agencies))
    # disjoint: the other instances' agencies are not mine (an instance's agency is on each of its tasks)
    return [and_(same_status, HumanTask.instance_agency_id.in_(agencies)), and_(same_status, in_others)]


def any_of(parts: list):
    """Disjoint conditions (visible_task_parts, task_list_parts) as one."""
    return parts[0] if len(parts) == 1 else or_(*parts)


def task_list_parts(session: Session, user: User, scope: str, status: TaskStatus) -> list:
    """The REST API's task list (`scope=mine|all`, `status=`) as index-friendly SQL on human_task alone, selecting
    exactly what engine.assignment's my_task_filter / visible_instance_filter select (tests/web/test_task_list.py);
    disjoint conditions, whose OR is the list."""
    if scope == "mine":
        if status == TaskStatus.READY:
            return _mine(_pairs(session, user), user.id)
        return [and_(HumanTask.status == status, HumanTask.completed_by_id == user.id)]
    return visible_task_parts(session, user, status)


def _tab_condition(session: Session, user: User, tab: str, pairs: set[tuple[int, str]]):
    if tab == "assigned":
        return _assigned(user.id)
    if tab == "claimable":
        return _claimable(pairs, user.id)
    if tab == "completed":
        return and_(HumanTask.status == TaskStatus.COMPLETED, HumanTask.completed_by_id == user.id)
    if tab == "all":
        return any_of(visible_task_parts(session, user, TaskStatus.READY, pairs))
    return _mine_any(pairs, user.id)


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


def _sort_keys(session: Session, spec: InboxQuery) -> list[tuple]:
    """The page's order as (expression, descending) pairs; a task without the sorted value (no due date) last."""
    desc = spec.order == "desc"
    if spec.sort == "priority":
        keys = [(_rank(session), desc)]
    else:
        column = {"created": HumanTask.created_at, "process": HumanTask.process_id, "title": HumanTask.title,
                  "completed": HumanTask.completed_at}.get(spec.sort, HumanTask.due_at)
        keys = [(column.is_(None), False), (column, desc)]
    if spec.sort != "due":
        keys += [(HumanTask.due_at.is_(None), False), (HumanTask.due_at, False)]
    return keys + [(HumanTask.created_at, False), (HumanTask.id, False)]


def order_by(keys: list[tuple]) -> list:
    return [expression.desc() if desc else expression.asc() for expression, desc in keys]


DUE_ORDER = [(HumanTask.due_at.is_(None), False), (HumanTask.due_at, False), (HumanTask.created_at, False),
             (HumanTask.id, False)]


def keyed(condition, keys: list[tuple], id_column=HumanTask.id) -> Select:
    """The ids of the rows (tasks) matching `condition` with their sort keys (k0, k1, ...): narrow rows to order."""
    return select(id_column.label("id"), *[expression.label(f"k{i}") for i, (expression, _) in enumerate(keys)]).where(
        condition)


def page_of(selects: list[Select], keys: list[tuple], limit: int, offset: int):
    """One page of ids (a subquery with `id`) cut from the union of `selects` (keyed, disjoint), ordered by
    `keys`: the ordering and the offset work on narrow rows (id and sort keys, from an index alone where one covers
    them, as ix_human_task_instance_agency_due does for my agencies' instances), and only the page's rows are then
    read in full (join it to human_task and order by the same keys)."""
    rows = (union_all(*selects) if len(selects) > 1 else selects[0]).subquery()
    order = [rows.c[f"k{i}"].desc() if desc else rows.c[f"k{i}"].asc() for i, (_, desc) in enumerate(keys)]
    return select(rows.c.id).order_by(*order).limit(limit).offset(offset).subquery()


def _base(session: Session, user: User, spec: InboxQuery, pairs: set[tuple[int, str]], column) -> Select:
    query = select(column).select_from(HumanTask).where(_tab_condition(session, user, spec.tab, pairs))
    return _filtered(session, query, spec)


COUNTED_TABS = ("assigned", "claimable", "completed", "all")


def _count(session: Session, user: User, spec: InboxQuery, pairs: set[tuple[int, str]]):
    """The tab's count as a scalar subquery; the "all" tab's as the sum of its disjoint parts' counts, so that the
    tasks of my agencies' instances are counted from the index alone."""
    if spec.tab != "all":
        return _base(session, user, spec, pairs, func.count()).scalar_subquery()
    counts = [_filtered(session, select(func.count()).select_from(HumanTask).where(part), spec).scalar_subquery()
              for part in visible_task_parts(session, user, TaskStatus.READY, pairs)]
    return sum(counts[1:], counts[0])


def tab_counts(session: Session, user: User, spec: InboxQuery) -> dict[str, int]:
    """How many tasks each tab holds with the current filters (`todo` = assigned + claimable).

    One statement of scalar subqueries (one round trip; each keeps its own index plan, where one scan with
    `count(*) FILTER (WHERE ...)` per tab would read the union of the four sets)."""
    pairs = _pairs(session, user)
    # count(*), not count(id): PostgreSQL may then answer from the index alone
    counts = [_count(session, user, replace(spec, tab=tab), pairs).label(tab) for tab in COUNTED_TABS]
    row = session.execute(select(*counts)).one()
    result = {tab: int(value or 0) for tab, value in zip(COUNTED_TABS, row, strict=True)}
    result["todo"] = result["assigned"] + result["claimable"]
    return result


def _parts(session: Session, user: User, spec: InboxQuery, pairs: set[tuple[int, str]]) -> list:
    """The tab as disjoint conditions to read a page from: the "all" tab's parts (visible_task_parts) each from
    its own index, so that my agencies' part is ordered from ix_human_task_instance_agency_due alone."""
    if spec.tab == "all":
        return visible_task_parts(session, user, TaskStatus.READY, pairs)
    return [_tab_condition(session, user, spec.tab, pairs)]


def inbox_page(session: Session, user: User, spec: InboxQuery) -> list[InboxRow]:
    """One page of the tab's tasks, sorted, each marked with whether I may claim or unclaim it here (page_of: the
    page is cut from narrow rows, then its 50 rows read in full)."""
    pairs = _pairs(session, user)
    keys = _sort_keys(session, spec)
    selects = [_filtered(session, keyed(part, keys), spec) for part in _parts(session, user, spec, pairs)]
    page = page_of(selects, keys, PER_PAGE, (max(spec.page, 1) - 1) * PER_PAGE)
    started_by_me = HumanTask.instance_id.in_(_started_by(user.id)).label("started_by_me")
    rows = session.execute(select(HumanTask, started_by_me).join(page, HumanTask.id == page.c.id)
                           .order_by(*order_by(keys))).all()
    result = []
    now, escalations = clock.now(), _escalations(session)
    for task, mine in rows:
        team_task = task.status == TaskStatus.READY and task.role not in (None, APPLICANT)
        may_claim = (team_task and task.assignee_id is None and (task.agency_id, task.role) in pairs
                     and not mine)
        result.append(InboxRow(task, may_claim, team_task and task.assignee_id == user.id,
                               rank_of(task, now, escalations)))
    return result


def inbox_view(session: Session, user: User, spec: InboxQuery) -> tuple[dict[str, int], list[InboxRow]]:
    """tab_counts and inbox_page in two statements (every count from an index alone, so the "all" tab's is no
    longer carried by its page as `count(*) OVER ()`, which kept every full row of the set)."""
    rows = inbox_page(session, user, spec)
    return tab_counts(session, user, spec), rows


def _newest_versions() -> Select:
    versions = ProcessVersion.__table__.c
    newest = (select(versions.process_id, func.max(versions.deployment_id).label("dep"))
              .group_by(versions.process_id).subquery())
    return (select(versions.process_id, versions.name, versions.deployment_id, versions.is_executable)
            .join(newest, and_(versions.process_id == newest.c.process_id, versions.deployment_id == newest.c.dep))
            .order_by(versions.process_id))


_NEWEST_VERSIONS = _newest_versions()  # every inbox page lists them: built once


def process_catalogue(session: Session) -> list[dict]:
    """The newest version of every deployed process: id, name, version, executable (never the stored spec,
    which is large and not needed to list processes)."""
    return [{"process_id": pid, "name": name or pid, "version": version, "is_executable": bool(executable)}
            for pid, name, version, executable in session.execute(_NEWEST_VERSIONS)]
