"""Audit events: one row per state change, written in the transaction that made the change, hash-chained.

Each event's hash is SHA-256 over the previous event's hash and the event's own fields. Appends are
serialized so the chain never forks: on PostgreSQL by a transaction-scoped advisory lock taken before the
insert, on SQLite by the database write lock the insert takes. The lock is taken after any instance lock
(audit events are recorded last in every operation), so lock order is always instance -> audit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine import clock
from engine.db import Database
from engine.models import AuditEvent

GENESIS = "0" * 64
AUDIT_LOCK_KEY = 0x5745_4249  # "WEBI": the advisory lock id that serializes audit appends on PostgreSQL


def _canonical(event: AuditEvent) -> bytes:
    fields = {
        "id": event.id, "at": event.at.isoformat(), "actor": event.actor, "action": event.action,
        "instance_id": event.instance_id, "task_id": event.task_id, "status_before": event.status_before,
        "status_after": event.status_after, "detail": event.detail or {},
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(event)).hexdigest()


def record(session: Session, action: str, actor: str | None, instance_id: int | None = None,
           task_id: int | None = None, before: str | None = None, after: str | None = None,
           **detail) -> AuditEvent:
    """Append an audit event to the chain, in the current transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    event = AuditEvent(at=clock.now().astimezone(dt.UTC), actor=actor, action=action,
                       instance_id=instance_id, task_id=task_id, status_before=before, status_after=after,
                       detail=json.loads(json.dumps(detail, default=str)))
    session.add(event)
    session.flush()  # the id (and, on SQLite, the write lock) before reading the previous hash
    previous = session.scalar(select(AuditEvent.hash).where(AuditEvent.id < event.id)
                              .order_by(AuditEvent.id.desc()).limit(1))
    event.prev_hash = previous or GENESIS
    event.hash = event_hash(event.prev_hash, event)
    return event


def events_of(session: Session, instance_id: int) -> list[AuditEvent]:
    """An instance's events, oldest first."""
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)
    ))


@dataclass
class ChainReport:
    checked: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify(db: Database, batch: int = 5000) -> ChainReport:
    """Walk the chain in order; name the first event whose link or content does not match."""
    previous, checked = GENESIS, 0
    with db.sessions() as session:
        for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch)):
            if event.prev_hash != previous:
                return ChainReport(checked, event.id, "its link to the previous event does not match "
                                                      "(an event before it was removed, inserted or reordered)")
            if event.hash != event_hash(previous, event):
                return ChainReport(checked, event.id, "its content does not match its hash (it was changed)")
            previous, checked = event.hash, checked + 1
    return ChainReport(checked)
