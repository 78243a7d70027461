"""Ready and finished human tasks, mirrored from the workflow so inboxes are plain indexed SQL."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow


class TaskStatus(enum.StrEnum):
    READY = "ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"  # its instance is suspended: not completable until resumed (engine/admin_ops.py)


def _instance_agency(context) -> int | None:
    """Default of human_task.instance_agency_id: the agency of the row's instance."""
    instance_id = context.get_current_parameters()["instance_id"]
    return context.connection.execute(text("SELECT agency_id FROM process_instance WHERE id = :i"),
                                      {"i": instance_id}).scalar()


class HumanTask(Base):
    """A user or manual task: who may act (role in an agency, or one assignee), and when it is due."""

    __tablename__ = "human_task"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_guid"),
        # The inbox's lookups (a role's unassigned tasks in an agency; my tasks) with the columns that the
        # separation of duties and the visible-instance rule test (instance, instance's agency): answered from the
        # index alone, never the task rows (0008d)
        Index("ix_human_task_inbox_role", "status", "agency_id", "role", "assignee_id", "instance_agency_id",
              "instance_id"),
        Index("ix_human_task_inbox_assignee", "status", "assignee_id", "instance_agency_id", "instance_id"),
        Index("ix_human_task_completed_by", "completed_by_id", "status"),
        Index("ix_human_task_instance_status", "instance_id", "status"),
        # The "all" tab and the REST lists over my agencies' instances: one range per agency, filtered (due date,
        # priority, process) and ordered (due date, creation, id) from the index alone, never the task rows.
        Index("ix_human_task_instance_agency_due", "status", "instance_agency_id", "due_at", "created_at", "id",
              "priority", "process_id"),
        # Every task of a status in the inbox's due order (no due date last): a master-role holder's "all" tab and
        # REST `scope=all` read their page as the first rows of this index instead of sorting 200,000 (0009b).
        Index("ix_human_task_due_order", "status", text("(due_at IS NULL)"), "due_at", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # no index of its own: ix_human_task_instance_status (instance_id, status) serves every lookup by instance
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    # The instance's agency (process_instance.agency_id, which never changes), copied so that "ready tasks of the
    # instances of these agencies" (the inbox's "all" tab) is one index range, not one lookup per instance. Rows
    # inserted without it get it from their instance (_instance_agency).
    instance_agency_id: Mapped[int] = mapped_column(default=_instance_agency)
    task_guid: Mapped[str] = mapped_column(String(36))
    process_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300), default="")
    lane: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(40))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    status: Mapped[TaskStatus] = mapped_column(
        Enum(TaskStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=TaskStatus.READY,
    )
    form_schema: Mapped[str | None] = mapped_column(String(300))
    form_ui_schema: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_at: Mapped[dt.datetime | None] = mapped_column()
    completed_at: Mapped[dt.datetime | None] = mapped_column()
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # Set by a manager (1 urgent .. 4 low, engine/task_priority.py); None = derived from due date and escalation.
    priority: Mapped[int | None] = mapped_column()
