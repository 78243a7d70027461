"""The logged-in person as the web layer sees them (loaded from the database on every request)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from flask_login import current_user
from sqlalchemy.orm import Session

from engine.assignment import active_roles
from engine.models import User
from web.extensions import get_db, login_manager


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
    with get_db().sessions() as session:
        user = session.get(User, int(user_id)) if user_id.isdigit() else None
        if user is None or not user.is_active:
            return None
        held = active_roles(session, user.id)
        user.agency  # noqa: B018  (loaded now, so the row kept below carries it)
        g.webir_user_row = (user, frozenset(held))
        return web_user(session, user, held)


def me(session: Session) -> User:
    """The logged-in user as a row of this session: the row (and roles) the login loader read for this request,
    merged without a query; read again only when the loader did not run (a bearer token)."""
    loaded = g.get("webir_user_row")
    if loaded is None or not current_user.is_authenticated or loaded[0].id != int(current_user.id):
        return session.get(User, int(current_user.id))
    user = session.merge(loaded[0], load=False)
    session.info.setdefault("held_roles", {})[user.id] = set(loaded[1])
    return user
