"""background jobs: one row per job (kind, params, progress, heartbeat, outcome)

Revision ID: 0007f
Revises: 0006
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0007f"
down_revision = "0007e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "background_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.Enum("queued", "running", "succeeded", "failed", name="jobstatus",
                                    native_enum=False, length=20), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", engine.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", engine.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", engine.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("progress_done", sa.BigInteger(), nullable=False),
        sa.Column("progress_total", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_background_job_agency_id_agency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_background_job")),
    )
    with op.batch_alter_table("background_job") as batch:
        batch.create_index(batch.f("ix_background_job_agency_id"), ["agency_id"], unique=False)
        batch.create_index("ix_background_job_status_heartbeat", ["status", "heartbeat_at"], unique=False)


def downgrade() -> None:
    op.drop_table("background_job")
