"""evidence store: files kept by SHA-256 with retention, legal hold and the record of their destruction

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("retention_class", sa.String(length=40), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sa.Text(), nullable=True),
        sa.Column("stored_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stored_by", sa.String(length=64), nullable=True),
        sa.Column("source_instance_id", sa.Integer(), nullable=True),
        sa.Column("destroyed_at", engine.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("destroyed_by", sa.String(length=64), nullable=True),
        sa.Column("destroyed_in_instance_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_evidence_file_agency_id_agency")),
        sa.ForeignKeyConstraint(["source_instance_id"], ["process_instance.id"],
                                name=op.f("fk_evidence_file_source_instance_id_process_instance")),
        sa.ForeignKeyConstraint(["destroyed_in_instance_id"], ["process_instance.id"],
                                name=op.f("fk_evidence_file_destroyed_in_instance_id_process_instance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_file")),
        sa.UniqueConstraint("sha256", name=op.f("uq_evidence_file_sha256")),
    )
    with op.batch_alter_table("evidence_file") as batch:
        batch.create_index(batch.f("ix_evidence_file_agency_id"), ["agency_id"], unique=False)
        batch.create_index(batch.f("ix_evidence_file_retain_until"), ["retain_until"], unique=False)


def downgrade() -> None:
    op.drop_table("evidence_file")
