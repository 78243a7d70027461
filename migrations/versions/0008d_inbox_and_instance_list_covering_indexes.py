"""inbox and instance-list indexes widened to cover their filters and sort

human_task (status, instance_agency_id) -> (status, instance_agency_id, due_at, created_at, id, priority,
process_id); (status, agency_id, role) -> (status, agency_id, role, assignee_id, instance_agency_id, instance_id);
(status, assignee_id) -> (status, assignee_id, instance_agency_id, instance_id); process_instance (agency_id, status,
id) -> (agency_id, status, started_at, id).

The "all" tab and the REST task lists read the tasks of my agencies' instances from one range of this index. With
the due date, creation time, id, priority and process in it, their counts under a filter (due by, overdue, priority,
process) and the ordering of a page come from the index alone instead of 14,000 task rows (1M task rows). The
instance list reads my agencies' instances the same way, ordered by start time. The role and assignee lookups
carry what the separation of duties and the visible-instance rule test on each task (its instance, its instance's
agency), so that the claimable count and the few instances outside my agencies that I may see no longer read the
12,500 task rows of my agency's queues on every inbox page.

Revision ID: 0008d
Revises: 0008c
Create Date: 2026-11-30
"""
from alembic import op

revision = "0008d"
down_revision = "0008c"
branch_labels = None
depends_on = None

COLUMNS = ["status", "instance_agency_id", "due_at", "created_at", "id", "priority", "process_id"]
ROLE = ["status", "agency_id", "role", "assignee_id", "instance_agency_id", "instance_id"]
ASSIGNEE = ["status", "assignee_id", "instance_agency_id", "instance_id"]


def upgrade() -> None:
    op.create_index("ix_human_task_instance_agency_due", "human_task", COLUMNS)
    op.drop_index("ix_human_task_instance_agency", table_name="human_task")
    op.create_index("ix_process_instance_agency_status_started", "process_instance",
                    ["agency_id", "status", "started_at", "id"])
    op.drop_index("ix_process_instance_agency_status_id", table_name="process_instance")
    op.create_index("ix_human_task_inbox_role", "human_task", ROLE)
    op.drop_index("ix_human_task_inbox", table_name="human_task")
    op.create_index("ix_human_task_inbox_assignee", "human_task", ASSIGNEE)
    op.drop_index("ix_human_task_assignee", table_name="human_task")


def downgrade() -> None:
    op.create_index("ix_human_task_assignee", "human_task", ["status", "assignee_id"])
    op.drop_index("ix_human_task_inbox_assignee", table_name="human_task")
    op.create_index("ix_human_task_inbox", "human_task", ["status", "agency_id", "role"])
    op.drop_index("ix_human_task_inbox_role", table_name="human_task")
    op.create_index("ix_process_instance_agency_status_id", "process_instance", ["agency_id", "status", "id"])
    op.drop_index("ix_process_instance_agency_status_started", table_name="process_instance")
    op.create_index("ix_human_task_instance_agency", "human_task", ["status", "instance_agency_id"])
    op.drop_index("ix_human_task_instance_agency_due", table_name="human_task")
