"""Server-side drafts of the modeler: one undeployed diagram per analyst and process (saved, restored, dropped)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow


class ModelDraft(Base):
    """The BPMN an analyst is editing, not deployed; `base_version` is the version the edit started from."""

    __tablename__ = "model_draft"
    __table_args__ = (UniqueConstraint("process_id", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    base_version: Mapped[int | None] = mapped_column()
    bpmn: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
