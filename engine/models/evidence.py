"""Evidence files (query logs, audit CDs, signed forms) kept by content hash, with retention and legal hold."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow


class EvidenceFile(Base):
    """One stored file. The row outlives the file: destruction (R7.4) leaves who, when and under which
    disposition instance."""

    __tablename__ = "evidence_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(120), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    retention_class: Mapped[str] = mapped_column(String(40))
    retain_until: Mapped[dt.date | None] = mapped_column(Date, index=True)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_reason: Mapped[str | None] = mapped_column(Text)
    stored_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    stored_by: Mapped[str | None] = mapped_column(String(64))
    source_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    destroyed_at: Mapped[dt.datetime | None] = mapped_column()
    destroyed_by: Mapped[str | None] = mapped_column(String(64))
    destroyed_in_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
