"""task priority set by a manager, saved inbox filters, form drafts

Revision ID: 0007e
Revises: 0006
Create Date: 2026-11-29 22:30:00
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = "0007e"
down_revision = "0007b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_task") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=True))
    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("created_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_saved_filter_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filter")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_saved_filter_user_id")),
    )
    op.create_table(
        "task_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("saved_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["human_task.id"], name=op.f("fk_task_draft_task_id_human_task")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_task_draft_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_draft")),
        sa.UniqueConstraint("task_id", "user_id", name=op.f("uq_task_draft_task_id")),
    )


def downgrade() -> None:
    op.drop_table("task_draft")
    op.drop_table("saved_filter")
    with op.batch_alter_table("human_task") as batch:
        batch.drop_column("priority")
