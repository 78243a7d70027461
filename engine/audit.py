"""Audit events: one row per state change, written in the transaction that made the change, hash-chained.

Each event's hash is SHA-256 over the previous event's hash and the event's own fields. Appends are
serialized so the chain never forks: on PostgreSQL by a transaction-scoped advisory lock taken before the
insert, on SQLite by the database write lock (the instance lock's, else the one the insert takes). The lock
is taken after any instance lock (audit events are recorded last in every operation), so lock order is
always instance -> audit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from engine import clock
from engine.db import Database, holds_write_lock
from engine.models import AuditEvent

GENESIS = "0" * 64
AUDIT_LOCK_KEY = 0x5745_4249  # "WEBI": the advisory lock id that serializes audit appends on PostgreSQL


def _canonical(event: AuditEvent | SimpleNamespace) -> bytes:
    fields = {
        "id": event.id, "at": event.at.isoformat(), "actor": event.actor, "action": event.action,
        "instance_id": event.instance_id, "task_id": event.task_id, "status_before": event.status_before,
        "status_after": event.status_after, "detail": event.detail or {},
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(prev_hash: str, event: AuditEvent | SimpleNamespace) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(event)).hexdigest()


def record(session: Session, action: str, actor: str | None, instance_id: int | None = None,
           task_id: int | None = None, before: str | None = None, after: str | None = None,
           **detail) -> SimpleNamespace | AuditEvent:
    """Append an audit event to the chain, in the current transaction (the event returned is for reading)."""
    fields = {"at": clock.now().astimezone(dt.UTC), "actor": actor, "action": action, "instance_id": instance_id,
              "task_id": task_id, "status_before": before, "status_after": after,
              "detail": json.loads(json.dumps(detail, default=str))}
    link = _next_link(session)
    if link is None:  # SQLite before the transaction's first write: the insert itself takes the write lock
        event = AuditEvent(**fields)
        session.add(event)
        session.flush()  # the id (and the write lock) before reading the previous hash
        previous = session.scalar(select(AuditEvent.hash).where(AuditEvent.id < event.id)
                                  .order_by(AuditEvent.id.desc()).limit(1))
        event.prev_hash = previous or GENESIS
        event.hash = event_hash(event.prev_hash, event)
    else:  # under the chain lock: the id and the previous hash are known; one Core INSERT, no ORM object or flush
        event = SimpleNamespace(id=link[0], prev_hash=link[1], **fields)
        event.hash = event_hash(event.prev_hash, event)
        if session.new:  # rows it may refer to (instance, task) go first, as a flush would order them
            session.flush()
        session.execute(_INSERT, vars(event))
    session.info[_TAIL] = (_innermost_transaction(session), event.id, event.hash)
    return event


_INSERT = insert(AuditEvent.__table__)  # built once: parameters per execution, no statement building per event
_TAIL = "audit_chain_tail"  # session.info: (transaction, id, hash) of the last event this transaction appended
_PG_NEXT_ID = func.nextval(func.pg_get_serial_sequence("audit_event", "id"))
_EVENTS = AuditEvent.__table__.c
_LAST_HASH = select(_EVENTS.hash).order_by(_EVENTS.id.desc()).limit(1).scalar_subquery()
_LAST_LINK = select(_EVENTS.id, _EVENTS.hash).order_by(_EVENTS.id.desc()).limit(1)


def _innermost_transaction(session: Session):
    return session.get_nested_transaction() or session.get_transaction()


def _next_link(session: Session) -> tuple[int, str] | None:
    """The new event's id and previous hash, read under the chain lock; None on SQLite when the transaction
    has not written yet (it holds no write lock, so the insert must come first).

    Once this (sub)transaction has appended an event it holds the lock until it ends and knows the chain's
    tail, so later events of the same transaction read nothing again (on PostgreSQL: only the next id).
    """
    tail = session.info.get(_TAIL)
    if tail is not None and tail[0] is _innermost_transaction(session):
        return _link_after(session, tail[1], tail[2])
    # Nothing of the chain is pending here (savepoints flush when they begin and end): no autoflush needed.
    with session.no_autoflush:
        return _link_from_database(session)


def _link_after(session: Session, tail_id: int, tail_hash: str) -> tuple[int, str]:
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(select(_PG_NEXT_ID)), tail_hash
    return tail_id + 1, tail_hash


def _link_from_database(session: Session) -> tuple[int, str] | None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
        # A statement of its own after the lock, so its snapshot sees every event committed before the lock.
        next_id, previous = session.execute(select(_PG_NEXT_ID, _LAST_HASH)).one()
        return next_id, previous or GENESIS
    if not holds_write_lock(session):
        return None
    last = session.execute(_LAST_LINK).first()
    # With the write lock held nobody else can insert: max(id) + 1 is the id SQLite itself would give.
    return (last.id + 1, last.hash or GENESIS) if last else (1, GENESIS)


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
