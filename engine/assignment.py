"""Who may act on a task and who may see an instance: lane -> role -> holders in an agency.

A lane name is a role id. The task belongs to holders of that role in the instance's agency, except:
`master_*` lanes (holders in the master agency), `delegating_agency` lanes (agency_admin or agency_head
of the agency that commissioned the instance's agency) and `applicant` lanes (the user who started the
instance). A process without lanes gives its tasks to the user who started the instance. The starter of
an instance completes only its applicant steps (separation of duties).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, false, or_, select
from sqlalchemy.orm import Session

from engine.duties import allowed_pairs
from engine.models import Agency, HumanTask, ProcessInstance, RoleAssignment, User

APPLICANT = "applicant"
DELEGATING_AGENCY = "delegating_agency"
DELEGATING_ROLES = ("agency_admin", "agency_head")
MASTER_PREFIX = "master_"
KNOWN_ROLES: set[str] = {APPLICANT}


def register_roles(role_ids) -> None:
    """Regulation code declares its role ids; lanes naming anything else are refused at deploy."""
    KNOWN_ROLES.update(role_ids)


class NotAllowed(Exception):
    """The user may not do this; the message says why (shown to the user)."""


@dataclass(frozen=True)
class Target:
    """To whom a new task goes: a role in an agency, or one user."""

    role: str | None
    agency_id: int
    assignee_id: int | None


# Statements read on every completion, built once (a statement built per call costs more than running it).
_MASTER_AGENCY = select(Agency.__table__.c.id).where(Agency.__table__.c.is_master.is_(True)).limit(1)
_ROLES = RoleAssignment.__table__.c
_ACTIVE_ROLES = select(_ROLES.agency_id, _ROLES.role).where(_ROLES.user_id == bindparam("user_id"),
                                                           _ROLES.revoked_at.is_(None))


def master_agency_id(session: Session) -> int | None:
    return session.scalar(_MASTER_AGENCY)


def task_target(session: Session, instance: ProcessInstance, role: str | None) -> Target:
    """Resolve a lane's role to the agency whose holders get the task (or to the applicant)."""
    if role is None or role == APPLICANT:
        return Target(role, instance.agency_id, instance.started_by_id)
    if role.startswith(MASTER_PREFIX):
        return Target(role, master_agency_id(session) or instance.agency_id, None)
    if role == DELEGATING_AGENCY:
        agency = session.get(Agency, instance.agency_id)
        return Target(role, agency.delegated_by_id or instance.agency_id, None)
    return Target(role, instance.agency_id, None)


def active_roles(session: Session, user_id: int) -> set[tuple[int, str]]:
    """(agency id, role) pairs the user holds now."""
    return {(a, r) for a, r in session.execute(_ACTIVE_ROLES, {"user_id": user_id})}


def candidate_pairs(session: Session, user_id: int, held: set[tuple[int, str]] | None = None) -> set[tuple[int, str]]:
    """(agency id, task role) pairs whose unassigned tasks the user may take (`held`: active_roles, if read)."""
    held = active_roles(session, user_id) if held is None else held
    pairs = held | {(a, DELEGATING_AGENCY) for a, r in held if r in DELEGATING_ROLES}
    return allowed_pairs(session, pairs, held)  # separation of duties as data (engine/duties.py)


def check_may_complete(session: Session, user: User, task: HumanTask, instance: ProcessInstance) -> None:
    """Raise NotAllowed unless the user may claim or complete this task."""
    if task.assignee_id is not None:
        if task.assignee_id != user.id:
            raise NotAllowed("此任務已指派給他人 This task is assigned to someone else")
        if task.role in (None, APPLICANT):
            return
    if task.role in (None, APPLICANT):
        raise NotAllowed("只有申請人可以完成此步驟 Only the applicant may complete this step")
    if instance.started_by_id == user.id:
        raise NotAllowed("不得審核自己的申請 You may not review or approve your own instance")
    if (task.agency_id, task.role) not in candidate_pairs(session, user.id):
        raise NotAllowed(f"此任務需要角色 {task.role} This task needs the role '{task.role}' in its agency")


def holds_master_role(session: Session, user_id: int, held: set[tuple[int, str]] | None = None) -> bool:
    master = master_agency_id(session)
    held = active_roles(session, user_id) if held is None else held
    return any(a == master and r.startswith(MASTER_PREFIX) for a, r in held)


def my_task_filter(session: Session, user: User):
    """SQL condition on HumanTask (joined with ProcessInstance): tasks assigned to or claimable by me."""
    pairs = candidate_pairs(session, user.id)
    claimable = [and_(HumanTask.agency_id == a, HumanTask.role == r) for a, r in sorted(pairs)]
    return or_(
        HumanTask.assignee_id == user.id,
        and_(
            HumanTask.assignee_id.is_(None),
            or_(*claimable) if claimable else false(),
            or_(ProcessInstance.started_by_id.is_(None), ProcessInstance.started_by_id != user.id),
        ),
    )


def visible_instance_filter(session: Session, user: User):
    """SQL condition on ProcessInstance: instances this user may see (never another agency's)."""
    if holds_master_role(session, user.id):
        return True
    pairs = candidate_pairs(session, user.id)
    delegated = select(Agency.id).where(
        Agency.delegated_by_id.in_([a for a, r in pairs if r in DELEGATING_ROLES] or [-1])
    )
    has_my_task = select(HumanTask.instance_id).where(my_task_filter(session, user)).join(
        ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
    return or_(
        ProcessInstance.agency_id == user.agency_id,
        ProcessInstance.started_by_id == user.id,
        ProcessInstance.agency_id.in_(delegated),
        ProcessInstance.id.in_(has_my_task),
    )


def can_see_instance(session: Session, user: User, instance_id: int) -> bool:
    condition = visible_instance_filter(session, user)
    query = select(ProcessInstance.id).where(ProcessInstance.id == instance_id)
    if condition is not True:
        query = query.where(condition)
    return session.scalar(query) is not None


def sees_instance(session: Session, user: User, instance: ProcessInstance) -> bool:
    """can_see_instance for a loaded instance: its own agency and its starter see it without a query (the
    first two terms of visible_instance_filter); anyone else is asked of the database."""
    if instance.agency_id == user.agency_id or instance.started_by_id == user.id:
        return True
    return can_see_instance(session, user, instance.id)


def visible_agencies(session: Session, user: User, held: set[tuple[int, str]] | None = None) -> list[Agency]:
    """Agencies whose records this user may see: their own, those their agency commissioned (for its admin
    or head), every agency for master-agency roles (`held`: active_roles, if read)."""
    query = select(Agency).order_by(Agency.code)
    held = active_roles(session, user.id) if held is None else held
    if holds_master_role(session, user.id, held):
        return list(session.scalars(query))
    pairs = candidate_pairs(session, user.id, held)
    delegating = [a for a, r in pairs if r in DELEGATING_ROLES]
    mine = or_(Agency.id == user.agency_id, Agency.delegated_by_id.in_(delegating or [-1]))
    return list(session.scalars(query.where(mine)))
