"""human_task.instance_agency_id: the instance's agency on each task row, indexed with status

The inbox's "all" tab (ready tasks of the instances I may see) counted and listed the tasks of the instances of my
agencies with one (instance_id, status) index lookup per instance (3,000-5,000 at 1M task rows); with the agency
on the task row they are one range of (status, instance_agency_id). An instance's agency never changes, so the
copy cannot drift.

Revision ID: 0008c
Revises: 0008b
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0008c"
down_revision = "0008b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("instance_agency_id", sa.Integer(), nullable=True))
    op.execute("UPDATE human_task SET instance_agency_id = "
               "(SELECT agency_id FROM process_instance WHERE process_instance.id = human_task.instance_id)")
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.alter_column("instance_agency_id", existing_type=sa.Integer(), nullable=False)
    op.create_index("ix_human_task_instance_agency", "human_task", ["status", "instance_agency_id"])


def downgrade() -> None:
    op.drop_index("ix_human_task_instance_agency", table_name="human_task")
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.drop_column("instance_agency_id")
