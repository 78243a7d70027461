"""The logged-in person as the web layer sees them (loaded from the database on every request, in its session)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g

from engine.models import User
from web.extensions import end_reads, keeps_request_connection, login_manager, request_session
from workflows.org import roles_of


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


def web_user(session, user: User) -> WebUser:
    return WebUser(user.id, user.username, user.display_name, user.agency.code, user.agency.name,
                   roles_of(session, user), user.is_active)


@login_manager.user_loader
def load_user(user_id: str) -> WebUser | None:
    session = request_session()  # the request's, and the row held in g: api_user() then finds it there
    user = g.webir_user_row = session.get(User, int(user_id)) if user_id.isdigit() else None
    found = web_user(session, user) if user and user.is_active else None
    if not keeps_request_connection():
        end_reads()  # pages read in sessions of their own
    return found
