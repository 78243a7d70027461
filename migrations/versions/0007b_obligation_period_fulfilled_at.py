"""obligation period: fulfilled_at (the agency's part done while the instance runs on, R8.1.6)

Revision ID: 0007b
Revises: 0006
Create Date: 2026-11-29 22:10:00
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = '0007b'
down_revision = '0007d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('obligation_period', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fulfilled_at', engine.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('obligation_period', schema=None) as batch_op:
        batch_op.drop_column('fulfilled_at')
