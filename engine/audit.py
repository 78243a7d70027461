"""Audit events: one row per state change, written in the transaction that made the change."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.models import AuditEvent


def record(session: Session, action: str, actor: str | None, instance_id: int | None = None,
           task_id: int | None = None, before: str | None = None, after: str | None = None,
           **detail) -> AuditEvent:
    """Add an audit event to the current transaction."""
    event = AuditEvent(at=clock.now(), actor=actor, action=action, instance_id=instance_id, task_id=task_id,
                       status_before=before, status_after=after, detail=detail)
    session.add(event)
    return event


def events_of(session: Session, instance_id: int) -> list[AuditEvent]:
    """An instance's events, oldest first."""
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)
    ))
