"""Who holds WebIR access and within which business items: roles over time, approved and granted items (R2.1-R5.4)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.calendar import local_date
from engine.models import DeploymentFile, RoleAssignment, User
from engine.specs import deployment_file
from workflows.models import AccountApplication
from workflows.models_accounts import AgencyBusinessItem

PURPOSES_FILE = "rules/approved_business_purposes.json"


def today() -> dt.date:
    """The date today in the office time zone (Asia/Taipei)."""
    return local_date(clock.now())


_ROLES = RoleAssignment.__table__.c
_HOLDS_NOW = select(_ROLES.id).where(_ROLES.user_id == bindparam("user_id"),  # service tasks ask it: built once
                                    _ROLES.agency_id == bindparam("agency_id"), _ROLES.role == bindparam("role"),
                                    _ROLES.revoked_at.is_(None)).limit(1)


def holds_role(session: Session, user_id: int, agency_id: int, role: str, at: dt.datetime | None = None) -> bool:
    """Whether the user held the role in the agency at `at` (default: now), from the kept assignment history."""
    if at is None:
        return session.scalar(_HOLDS_NOW, {"user_id": user_id, "agency_id": agency_id, "role": role}) is not None
    query = select(RoleAssignment.id).where(RoleAssignment.user_id == user_id, RoleAssignment.agency_id == agency_id,
                                            RoleAssignment.role == role, RoleAssignment.granted_at <= at,
                                            or_(RoleAssignment.revoked_at.is_(None), RoleAssignment.revoked_at > at))
    return session.scalar(query.limit(1)) is not None


def active_assignment(session: Session, user_id: int, agency_id: int, role: str) -> RoleAssignment | None:
    return session.scalar(select(RoleAssignment).where(
        RoleAssignment.user_id == user_id, RoleAssignment.agency_id == agency_id, RoleAssignment.role == role,
        RoleAssignment.revoked_at.is_(None)).limit(1))


def agency_user(session: Session, username: str | None, agency_id: int) -> User | None:
    """The user of this agency with this username (None for anyone else: never reveal other agencies' staff)."""
    if not username:
        return None
    user = session.scalar(select(User).where(User.username == username.strip()))
    return user if user is not None and user.agency_id == agency_id else None


_ITEMS = AgencyBusinessItem.__table__.c
_APPROVED_ITEMS = select(_ITEMS.item).where(_ITEMS.agency_id == bindparam("agency_id"),  # service tasks: built once
                                            _ITEMS.withdrawn_at.is_(None))


def agency_approved_items(session: Session, agency_id: int) -> list[str] | None:
    """The business items the master agency approved for the agency; None when none are recorded (any item)."""
    items = session.scalars(_APPROVED_ITEMS, {"agency_id": agency_id}).all()
    return sorted(set(items)) if items else None


def granted_application(session: Session, user_id: int, agency_id: int) -> AccountApplication | None:
    """The user's latest granted Form 1-2 in the agency that was not revoked yet."""
    return session.scalar(select(AccountApplication).where(
        AccountApplication.user_id == user_id, AccountApplication.agency_id == agency_id,
        AccountApplication.outcome == "granted", AccountApplication.revoked_on.is_(None))
        .order_by(AccountApplication.id.desc()).limit(1))


def approved_purposes(session: Session, deployment_id: int) -> dict[str, dict]:
    """The approved-business-purposes rule data of a deployment (else the newest deployed copy)."""
    row = deployment_file(session, deployment_id, PURPOSES_FILE) or session.scalar(
        select(DeploymentFile).where(DeploymentFile.filename == PURPOSES_FILE)
        .order_by(DeploymentFile.deployment_id.desc()).limit(1))
    return json.loads(row.content).get("items", {}) if row else {}


def outside(items, *bounds) -> list[str]:
    """The items not in every given bound (a bound of None allows anything)."""
    return [i for i in items if any(b is not None and i not in b for b in bounds)]
