"""BPMN messages between instances, for operators: what was delivered where, and what nobody took."""

from __future__ import annotations

from flask import Response, jsonify
from sqlalchemy import func, select

from engine.models import OutboxMessage
from web.api import bp
from web.api.auth import api_user, require_role
from web.api.params import choice_arg, paging
from web.extensions import get_db
from web.queries import iso


def _message_dict(message: OutboxMessage) -> dict:
    return {"id": message.id, "name": message.name, "from_instance": message.instance_id,
            "payload": message.payload, "correlations": message.correlations, "created_at": iso(message.created_at),
            "delivered_at": iso(message.delivered_at), "delivered_to": message.delivered_to,
            "last_error": message.last_error}


@bp.get("/messages")
def messages_list() -> Response:
    """Messages thrown by instances (`?status=pending|delivered`); master_admin or analyst."""
    status = choice_arg("status", ("pending", "delivered"), None)
    page, per_page = paging()
    with get_db().sessions() as session:
        require_role(session, api_user(session), "master_admin", "analyst")
        query = select(OutboxMessage)
        if status == "pending":
            query = query.where(OutboxMessage.delivered_at.is_(None))
        elif status == "delivered":
            query = query.where(OutboxMessage.delivered_at.is_not(None))
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(query.order_by(OutboxMessage.id).limit(per_page).offset((page - 1) * per_page))
        return jsonify({"items": [_message_dict(m) for m in rows], "total": total, "page": page,
                        "per_page": per_page})
