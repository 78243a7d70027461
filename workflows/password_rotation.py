"""Password rotation (R5.6): every current agency admin and granted WebIR user acknowledges their own change.

The compliance calendar opens one instance per agency and period (INTERFACES.md, obligation
`password_rotation`); inside it each account gets its own acknowledgement task, and an acknowledgement still
open at the due time escalates (a user's to the agency admins, an admin's to the agency head).
"""

from __future__ import annotations

from sqlalchemy import select

from engine.models import RoleAssignment, User
from engine.scripts import REGISTRY, ServiceCall

ADMIN_ROLE = "agency_admin"
ROTATING_ROLES = (ADMIN_ROLE, "user")  # R5.6: 管理者及使用者 admins and users


def rotation_accounts(session, agency_id: int) -> dict:
    """Usernames holding an admin or WebIR-user role in the agency now, the admins among them, and names."""
    rows = session.execute(
        select(User.username, User.display_name, RoleAssignment.role)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.agency_id == agency_id, RoleAssignment.role.in_(ROTATING_ROLES),
               RoleAssignment.revoked_at.is_(None))).all()
    names = {username: display or username for username, display, _ in rows}
    admins = sorted({username for username, _, role in rows if role == ADMIN_ROLE})
    return {"accounts": sorted(names), "admin_accounts": admins, "names": names}


def list_password_rotation_accounts(call: ServiceCall) -> dict:
    """Service task `list_password_rotation_accounts`: whose acknowledgement this period needs (R5.6)."""
    return rotation_accounts(call.context.session, call.context.instance.agency_id)


REGISTRY.service("list_password_rotation_accounts", list_password_rotation_accounts)
