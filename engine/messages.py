"""Deliver BPMN messages between instances: to a waiting instance whose correlation matches, else to a new
instance of a process whose start event catches it. Undeliverable messages stay in the outbox, visible,
and are retried by the scheduler's sweep; a message is delivered at most once.
"""

from __future__ import annotations

import logging

from SpiffWorkflow.exceptions import WorkflowException
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.db import Database
from engine.locking import InstanceNotFound, lock_instance
from engine.models import Agency, OutboxMessage, ProcessInstance, ProcessVersion, User
from engine.runtime import FINISHED, SYSTEM_ACTOR, HostContext, advance, new_instance_row
from engine.scripts import script_engine
from engine.specs import latest_versions
from engine.state import load_event, load_workflow, new_workflow

log = logging.getLogger(__name__)
MAX_ROUNDS = 100
NOBODY_WAITS = "no instance is waiting for this message and no deployed process starts with it"


def pending_ids(db: Database) -> list[int]:
    with db.sessions() as session:
        return list(session.scalars(select(OutboxMessage.id).where(OutboxMessage.delivered_at.is_(None))
                                    .order_by(OutboxMessage.id)))


def _claim(session: Session, message: OutboxMessage, target: int) -> bool:
    """Mark delivered in the receiving transaction; False if someone delivered it meanwhile."""
    return bool(session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.delivered_at.is_(None))
        .values(delivered_at=clock.now(), delivered_to=target, last_error=None)).rowcount)


def _to_waiting(db: Database, message_id: int, name: str) -> bool:
    with db.sessions() as session:
        candidates = list(session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.waits_for.like(f"%|{name}|%"), ProcessInstance.status.not_in(FINISHED))
            .order_by(ProcessInstance.id)))
    for instance_id in candidates:
        with db.transaction() as session:
            try:
                instance = lock_instance(session, instance_id)
            except InstanceNotFound:
                continue
            message = session.get(OutboxMessage, message_id)
            version = session.get(ProcessVersion, instance.process_version_id)
            workflow = load_workflow(version, instance.state, script_engine(HostContext(session, instance, None)))
            try:
                workflow.send_event(load_event(message.event_json))
            except WorkflowException:  # waits for this name, but its correlation does not match
                continue
            if not _claim(session, message, instance.id):
                return True
            audit.record(session, "message_received", SYSTEM_ACTOR, instance.id, message=name,
                         from_instance=message.instance_id)
            advance(session, instance, version, workflow, None, instance.status.value)
            return True
    return False


def _to_new_instance(db: Database, message_id: int, name: str) -> bool:
    with db.transaction() as session:
        message = session.get(OutboxMessage, message_id)
        versions = [v for v in latest_versions(session) if name in (v.message_starts or []) and v.is_executable]
        if not versions:
            return False
        sender = session.get(ProcessInstance, message.instance_id)
        starter = session.get(User, sender.started_by_id) if sender.started_by_id else None
        instance = new_instance_row(session, versions[0], session.get(Agency, sender.agency_id), starter)
        if not _claim(session, message, instance.id):
            raise _AlreadyDelivered
        workflow = new_workflow(versions[0], script_engine(HostContext(session, instance, starter)))
        workflow.do_engine_steps()
        workflow.send_event(load_event(message.event_json))
        audit.record(session, "instance_started", SYSTEM_ACTOR, instance.id, after="running",
                     process_id=versions[0].process_id, by_message=name, from_instance=message.instance_id)
        advance(session, instance, versions[0], workflow, starter, "running")
    return True


class _AlreadyDelivered(Exception):
    """Another deliverer took the message first: roll back the instance this one began."""


def deliver(db: Database, message_id: int) -> bool:
    """Deliver one message; True when it reached an instance."""
    with db.sessions() as session:
        message = session.get(OutboxMessage, message_id)
        if message is None or message.delivered_at is not None:
            return False
        name = message.name
    try:
        if _to_waiting(db, message_id, name) or _to_new_instance(db, message_id, name):
            return True
    except _AlreadyDelivered:
        return False
    with db.transaction() as session:
        session.get(OutboxMessage, message_id).last_error = NOBODY_WAITS
    return False


def deliver_pending(db: Database) -> int:
    """Deliver every pending message, including those the deliveries throw; returns how many arrived."""
    delivered, tried = 0, set()
    for _ in range(MAX_ROUNDS):
        todo = [i for i in pending_ids(db) if i not in tried]
        if not todo:
            break
        for message_id in todo:
            tried.add(message_id)
            try:
                delivered += deliver(db, message_id)
            except Exception:  # noqa: BLE001 - one bad message must not block the others
                log.exception("delivering message %s failed", message_id)
    return delivered
