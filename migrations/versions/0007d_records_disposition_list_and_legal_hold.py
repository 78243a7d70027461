"""records disposition: the per-item list and record, legal hold and destruction of Form 1-2

Revision ID: 0007d
Revises: 0006
Create Date: 2026-11-29 22:00:00
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = '0007d'
down_revision = '0007g'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('disposition_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('record_kind', sa.String(length=30), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=400), nullable=False),
    sa.Column('retention_class', sa.String(length=40), nullable=False),
    sa.Column('retain_until', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('hold_reason', sa.Text(), nullable=True),
    sa.Column('listed_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('destroyed_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('destroyed_by', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_disposition_item_agency_id_agency')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_disposition_item_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposition_item')),
    sa.UniqueConstraint('instance_id', 'record_kind', 'record_id', name='uq_disposition_item_record')
    )
    with op.batch_alter_table('disposition_item', schema=None) as batch_op:
        batch_op.create_index('ix_disposition_item_agency', ['agency_id', 'status'], unique=False)

    with op.batch_alter_table('account_application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_hold', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('hold_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('destroyed_at', engine.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('account_application', schema=None) as batch_op:
        batch_op.drop_column('destroyed_at')
        batch_op.drop_column('hold_reason')
        batch_op.drop_column('legal_hold')

    with op.batch_alter_table('disposition_item', schema=None) as batch_op:
        batch_op.drop_index('ix_disposition_item_agency')

    op.drop_table('disposition_item')
