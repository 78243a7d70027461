"""messages between instances: what an instance waits for, restorable thrown events, message start events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.add_column(sa.Column("waits_for", sa.Text(), nullable=True))
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("event_json", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    with op.batch_alter_table("process_version") as batch:
        batch.add_column(sa.Column("message_starts", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("process_version") as batch:
        batch.drop_column("message_starts")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("last_error")
        batch.drop_column("event_json")
    with op.batch_alter_table("process_instance") as batch:
        batch.drop_column("waits_for")
