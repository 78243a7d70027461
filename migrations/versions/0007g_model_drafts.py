"""modeler drafts kept on the server, one per analyst and process

Revision ID: 0007g
Revises: 0006
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0007g"
down_revision = "0007c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("bpmn", sa.Text(), nullable=False),
        sa.Column("saved_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["app_user.id"], name=op.f("fk_model_draft_owner_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_draft")),
        sa.UniqueConstraint("process_id", "owner_id", name=op.f("uq_model_draft_process_id")),
    )
    with op.batch_alter_table("model_draft") as batch:
        batch.create_index(batch.f("ix_model_draft_owner_id"), ["owner_id"], unique=False)


def downgrade() -> None:
    op.drop_table("model_draft")
