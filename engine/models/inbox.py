"""What a person keeps for their own work: named inbox filters (and, per task, form drafts)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow


class SavedFilter(Base):
    """A named inbox view (tab, filters, sort) of one user; the name is unique per user."""

    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    name: Mapped[str] = mapped_column(String(60))
    query: Mapped[dict] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TaskDraft(Base):
    """A form saved without completing the task: one per task and user, removed when the task completes."""

    __tablename__ = "task_draft"
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    data: Mapped[dict] = mapped_column()
    saved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
