"""Indexes in the lists' own order: human_task (status, due_at IS NULL, due_at, created_at, id) and
process_instance (started_at, id)

A master-role holder sees every instance: the "all" tab and REST `scope=all` ordered all ready tasks (200,000 of
1,000,000 task rows in the benchmark), and the instance lists all instances (100,000), to cut a 50-row page. With
an index in exactly the inbox's order (a task without a due date last, then due date, creation, id) and one in
the instance lists' (newest first, read backwards), the page is the index's first rows (issue 10).

Revision ID: 0009b
Revises: 0009a
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0009b"
down_revision = "0009a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_human_task_due_order", "human_task",
                    ["status", sa.text("(due_at IS NULL)"), "due_at", "created_at", "id"])
    op.create_index("ix_process_instance_started", "process_instance", ["started_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_process_instance_started", table_name="process_instance")
    op.drop_index("ix_human_task_due_order", table_name="human_task")
