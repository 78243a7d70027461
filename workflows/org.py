"""The organisation model's operations: agencies (with delegating agency), users, roles, API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.models import Agency, ApiToken, RoleAssignment, User
from workflows.clauses import implements
from workflows.roles import ASSIGNABLE_ROLES

_HASHER = PasswordHasher()


class OrgError(ValueError):
    """Bad input to an organisation operation; the message names the field."""


def agency_by_code(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise OrgError(f"agency '{code}' does not exist")
    return agency


def create_agency(session: Session, code: str, name: str, delegated_by: str | None = None,
                  master: bool = False, approved_on: dt.date | None = None, actor: str | None = None) -> Agency:
    """Create an agency; a commissioned agency names its delegating agency (R4.1)."""
    code = (code or "").strip().upper()
    if not code or len(code) > 32 or not code.replace("_", "").replace("-", "").isalnum():
        raise OrgError("CODE must be 1-32 letters, digits, '-' or '_'")
    if not (name or "").strip():
        raise OrgError("--name is required")
    if session.scalar(select(Agency.id).where(Agency.code == code)):
        raise OrgError(f"agency '{code}' already exists")
    if master and session.scalar(select(Agency.id).where(Agency.is_master.is_(True))):
        raise OrgError("a master agency already exists")
    parent = agency_by_code(session, delegated_by.upper()) if delegated_by else None
    agency = Agency(code=code, name=name.strip(), delegated_by_id=parent.id if parent else None,
                    is_master=master, approved_on=approved_on)
    session.add(agency)
    session.flush()
    audit.record(session, "agency_created", actor, agency=code, delegated_by=parent.code if parent else None)
    return agency


def create_user(session: Session, username: str, agency_code: str, password: str, roles=(),
                vendor: bool = False, display_name: str = "", actor: str | None = None) -> User:
    """Create a user with optional roles; outsourced-vendor staff may hold no role (R5.5)."""
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise OrgError("USERNAME must be 1-64 characters without spaces")
    if len(password or "") < 8:
        raise OrgError("--password must be at least 8 characters")
    if session.scalar(select(User.id).where(User.username == username)):
        raise OrgError(f"user '{username}' already exists")
    agency = agency_by_code(session, agency_code.upper())
    user = User(username=username, display_name=display_name or username, agency_id=agency.id,
                password_hash=_HASHER.hash(password), is_vendor=vendor)
    session.add(user)
    session.flush()
    for role in roles:
        grant_role(session, user, agency, role, actor)
    audit.record(session, "user_created", actor, user=username, agency=agency.code, vendor=vendor)
    return user


@implements("R5.5")
def grant_role(session: Session, user: User, agency: Agency, role: str, actor: str | None = None,
               source_instance_id: int | None = None) -> None:
    """Give a user a role in an agency (idempotent); `source_instance_id` names the process that granted it."""
    if role not in ASSIGNABLE_ROLES:
        raise OrgError(f"unknown role '{role}'; roles: {', '.join(sorted(ASSIGNABLE_ROLES))}")
    if user.is_vendor:
        raise OrgError("R5.5: outsourced-vendor staff may not be authorised")
    if role.startswith("master_") and not agency.is_master:
        raise OrgError(f"role '{role}' belongs to the master agency only")
    held = session.scalar(select(RoleAssignment.id).where(
        RoleAssignment.user_id == user.id, RoleAssignment.agency_id == agency.id,
        RoleAssignment.role == role, RoleAssignment.revoked_at.is_(None)))
    if not held:
        session.add(RoleAssignment(user_id=user.id, agency_id=agency.id, role=role, granted_by=actor,
                                   granted_at=clock.now(), source_instance_id=source_instance_id))
        audit.record(session, "role_granted", actor, source_instance_id, user=user.username, agency=agency.code,
                     role=role)


def revoke_role(session: Session, user: User, agency: Agency, role: str, actor: str | None = None,
                instance_id: int | None = None, **detail) -> bool:
    """End a user's role in an agency now (the row is kept: the regulation wants the history); False if not held."""
    rows = session.scalars(select(RoleAssignment).where(
        RoleAssignment.user_id == user.id, RoleAssignment.agency_id == agency.id, RoleAssignment.role == role,
        RoleAssignment.revoked_at.is_(None))).all()
    for row in rows:
        row.revoked_at = clock.now()
    if rows:
        audit.record(session, "role_revoked", actor, instance_id, user=user.username, agency=agency.code, role=role,
                     **detail)
    return bool(rows)


def roles_of(session: Session, user: User) -> list[str]:
    """The role ids a user holds now (in any agency)."""
    return sorted(set(session.scalars(select(RoleAssignment.role).where(
        RoleAssignment.user_id == user.id, RoleAssignment.revoked_at.is_(None)))))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, else None (same answer for unknown user and bad password)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        _HASHER.hash("timing-equaliser")
        return None
    try:
        _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, username: str, actor: str | None = None) -> str:
    """A new bearer token for a user; only its hash is stored."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise OrgError(f"user '{username}' does not exist")
    token = "wbr_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), created_at=clock.now()))
    audit.record(session, "token_created", actor, user=username)
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a bearer token belongs to."""
    # One statement (the user's agency comes with it, User.agency being joined): it runs on every API call.
    return session.scalar(select(User).join(ApiToken, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None), User.is_active.is_(True)))
