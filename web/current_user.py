"""The logged-in person as the web layer sees them (loaded from the database on every request, in its session)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from flask_login import current_user
from sqlalchemy.orm import Session

from engine.assignment import active_roles
from engine.models import User
from web.extensions import end_reads, keeps_request_connection, login_manager, request_session


@dataclass
class WebUser:
    """Flask-Login user: identity, agency and current roles."""

    id: int
    username: str
    display_name: str
    agency_code: str
    agency_name: str
    roles: list[str]
    is_active: bool = True
    is_authenticated: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return str(self.id)

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)


def web_user(session, user: User, held: set[tuple[int, str]] | None = None) -> WebUser:
    """`held`: engine.assignment.active_roles of the user, if read (the role ids are theirs)."""
    held = active_roles(session, user.id) if held is None else held
    return WebUser(user.id, user.username, user.display_name, user.agency.code, user.agency.name,
                   sorted({role for _, role in held}), user.is_active)


@login_manager.user_loader
def load_user(user_id: str) -> WebUser | None:
    session = request_session()  # the request's, and the row held in g: api_user() then finds it there
    user = g.webir_user_row = session.get(User, int(user_id)) if user_id.isdigit() else None
    found = None
    if user and user.is_active:
        held = g.webir_user_roles = frozenset(active_roles(session, user.id))  # reused by me()
        found = web_user(session, user, held)
    if not keeps_request_connection():
        end_reads()  # pages read in sessions of their own
    return found


def me(session: Session) -> User:
    """The logged-in user as a row of `session`: the row (and roles) the login loader read for this request,
    merged into a page's own session without a query; read again only when the loader did not read it."""
    user = g.get("webir_user_row")
    if user is None or not current_user.is_authenticated or user.id != int(current_user.id):
        return session.get(User, int(current_user.id))
    if session is not g.get("webir_session"):
        user = session.merge(user, load=False)
    share_loaded_roles(session, user)
    return user


_HELD_ROLES = "held_roles"  # session.info: {user id: active roles} the login loader read in this request


def share_loaded_roles(session: Session, user: User) -> None:
    """Let `session` reuse the roles the login loader read for this user in this request (no second query)."""
    row = g.get("webir_user_row")
    if row is not None and row.id == user.id and g.get("webir_user_roles") is not None:
        session.info.setdefault(_HELD_ROLES, {})[user.id] = set(g.webir_user_roles)


def loaded_roles(session: Session, user_id: int) -> set[tuple[int, str]] | None:
    """The roles share_loaded_roles left in this session for the user, if any."""
    return session.info.get(_HELD_ROLES, {}).get(user_id)
