"""The records disposition's list and its record (R7.1-R7.4): one row per record a yearly disposition listed."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow


class RecordKind(enum.StrEnum):
    APPLICATION_FORM = "application_form"  # a Form 1-2 of a revoked account (R7.2)
    EVIDENCE_FILE = "evidence_file"  # audit records, evidence packages, query logs, registers (R7.1, R7.3)


class DispositionStatus(enum.StrEnum):
    LISTED = "listed"  # past retention, on the list for approval
    HELD = "held"  # past retention but under legal hold: not destroyed
    DESTROYED = "destroyed"
    KEPT = "kept"  # no longer destroyable when the approval came (e.g. its date moved): not destroyed


class DispositionItem(Base):
    """A record on a disposition's list and, once destroyed, the record of its destruction: what, when, who and
    the SHA-256 of what was destroyed."""

    __tablename__ = "disposition_item"
    __table_args__ = (
        UniqueConstraint("instance_id", "record_kind", "record_id", name="uq_disposition_item_record"),
        Index("ix_disposition_item_agency", "agency_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    record_kind: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(400))  # what: kind, name, whose
    retention_class: Mapped[str] = mapped_column(String(40))
    retain_until: Mapped[dt.date] = mapped_column(Date)  # destroyable after (evidence) / from (forms) this date
    status: Mapped[str] = mapped_column(String(20), default=DispositionStatus.LISTED)
    hold_reason: Mapped[str | None] = mapped_column(Text)
    listed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sha256: Mapped[str | None] = mapped_column(String(64))  # digest of what was destroyed
    destroyed_at: Mapped[dt.datetime | None] = mapped_column()
    destroyed_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)  # e.g. how many query-log records lost their subject ids
