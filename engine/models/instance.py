"""Process instances (state serialized without the spec) and the message outbox they fill."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow


class InstanceStatus(enum.StrEnum):
    RUNNING = "running"  # has ready human tasks
    WAITING = "waiting"  # only timers or messages pending
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ERROR = "error"


def _enum(cls):
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class ProcessInstance(Base):
    """One running (or finished) process; pinned to the version it started on."""

    __tablename__ = "process_instance"
    __table_args__ = (
        # The instance list over my agencies' instances: counted, filtered by status and ordered newest first from
        # the index alone (0008d; it was (agency_id, status, id), 0008b)
        Index("ix_process_instance_agency_status_started", "agency_id", "status", "started_at", "id"),
        Index("ix_process_instance_next_due", "next_due_at"),
        # Every instance newest first: a master-role holder's instance list reads its page as the first rows (0009b)
        Index("ix_process_instance_started", "started_at", "id"),
        Index("ix_process_instance_started_by", "started_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    version: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    status: Mapped[InstanceStatus] = mapped_column(_enum(InstanceStatus), default=InstanceStatus.RUNNING)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column()
    next_due_at: Mapped[dt.datetime | None] = mapped_column()
    error_message: Mapped[str | None] = mapped_column(Text)
    # Names of the messages the instance waits for, as "|name|name|" so delivery can find it with LIKE.
    waits_for: Mapped[str | None] = mapped_column(Text)
    # The workflow's JSON without its spec, zlib-compressed (engine/state.py; migration 0009a).
    state: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    # Bumped by every write; the conditional UPDATE on it is the per-instance lock (see engine/locking.py).
    lock_version: Mapped[int] = mapped_column(Integer, default=0)


class OutboxMessage(Base):
    """A BPMN message thrown by an instance, persisted in the transaction that threw it."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(default=dict)
    correlations: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    delivered_to: Mapped[int | None] = mapped_column(Integer)
    event_json: Mapped[str] = mapped_column(Text, default="")
    last_error: Mapped[str | None] = mapped_column(Text)
