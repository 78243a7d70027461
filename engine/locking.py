"""The per-instance lock: one conditional UPDATE, first statement of the transaction.

On PostgreSQL the UPDATE takes the row lock until commit, so a second request on the same instance waits
and then reads the committed state. On SQLite it takes the database write lock (writers queue on the busy
timeout); it must be the transaction's first statement, or SQLite refuses the upgrade from a stale read.
The UPDATE returns the row it locked (RETURNING, after any wait), so locking and reading are one statement.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.db import note_write_lock
from engine.models import HumanTask, ProcessInstance


class InstanceNotFound(LookupError):
    """No such process instance."""


def _locking(which):
    """The lock statement, built once: one UPDATE that returns the row it locked, freshly read."""
    return (update(ProcessInstance)
            .where(ProcessInstance.id == which)
            .values(lock_version=ProcessInstance.lock_version + 1)
            .returning(ProcessInstance)
            .execution_options(synchronize_session=False, populate_existing=True))


_LOCK = _locking(bindparam("instance_id"))
_LOCK_OF_TASK = _locking(select(HumanTask.instance_id).where(HumanTask.id == bindparam("task_id")).scalar_subquery())


def _lock(session: Session, statement, params: dict) -> ProcessInstance | None:
    instance = session.scalars(statement, params).first()
    if instance is not None:
        note_write_lock(session)  # on SQLite the database's: the audit chain appends under it (engine/audit.py)
    return instance


def lock_instance(session: Session, instance_id: int) -> ProcessInstance:
    """Lock the instance row for this transaction and return it freshly read."""
    instance = _lock(session, _LOCK, {"instance_id": instance_id})
    if instance is None:
        raise InstanceNotFound(f"process instance {instance_id} not found")
    return instance


def lock_instance_of_task(session: Session, task_id: int) -> ProcessInstance:
    """Lock the instance a human task belongs to (found in the same statement), freshly read."""
    instance = _lock(session, _LOCK_OF_TASK, {"task_id": task_id})
    if instance is None:
        raise InstanceNotFound(f"no process instance has task {task_id}")
    return instance
