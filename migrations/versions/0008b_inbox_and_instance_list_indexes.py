"""inbox and instance-list indexes: (agency_id, status, id) on process_instance, no single-column instance_id index
on human_task

The visible-instance rule starts from the instances of a few agencies: with `id` in the index PostgreSQL reads
their ids from the index alone instead of one heap page per instance. `ix_human_task_instance_id` is a prefix of
`ix_human_task_instance_status`; with it gone the planner looks up only an instance's ready tasks (the "all" tab)
instead of reading all its tasks and filtering.

Revision ID: 0008b
Revises: 0007f
Create Date: 2026-11-30
"""
from alembic import op

revision = "0008b"
down_revision = "0007f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_process_instance_agency_status_id", "process_instance", ["agency_id", "status", "id"])
    op.drop_index("ix_process_instance_agency_status", table_name="process_instance")
    op.drop_index("ix_human_task_instance_id", table_name="human_task")


def downgrade() -> None:
    op.create_index("ix_human_task_instance_id", "human_task", ["instance_id"])
    op.create_index("ix_process_instance_agency_status", "process_instance", ["agency_id", "status"])
    op.drop_index("ix_process_instance_agency_status_id", table_name="process_instance")
