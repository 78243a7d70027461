"""The per-instance lock: one conditional UPDATE, first statement of the transaction.

On PostgreSQL the UPDATE takes the row lock until commit, so a second request on the same instance waits
and then reads the committed state. On SQLite it takes the database write lock (writers queue on the busy
timeout); it must be the transaction's first statement, or SQLite refuses the upgrade from a stale read.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine.models import ProcessInstance


class InstanceNotFound(LookupError):
    """No such process instance."""


def lock_instance(session: Session, instance_id: int) -> ProcessInstance:
    """Lock the instance row for this transaction and return it freshly read."""
    result = session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .values(lock_version=ProcessInstance.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        raise InstanceNotFound(f"process instance {instance_id} not found")
    return session.get(ProcessInstance, instance_id, populate_existing=True)
