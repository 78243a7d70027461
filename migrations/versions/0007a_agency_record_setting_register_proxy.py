"""agency record setting (per-record method, R3.4/R6.6); register entries reference Form 3 (R6.2)

Revision ID: 0007a
Revises: 0006
Create Date: 2026-11-29 22:00:00
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = '0007a'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agency_record_setting',
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('per_record_method', sa.Boolean(), nullable=False),
    sa.Column('changed_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_agency_record_setting_agency_id_agency')),
    sa.PrimaryKeyConstraint('agency_id', name=op.f('pk_agency_record_setting'))
    )
    with op.batch_alter_table('register_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proxy_authorization_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_register_entry_proxy_authorization_id'), ['proxy_authorization_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_register_entry_proxy_authorization_id_proxy_authorization'),
                                    'proxy_authorization', ['proxy_authorization_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('register_entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_register_entry_proxy_authorization_id_proxy_authorization'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_register_entry_proxy_authorization_id'))
        batch_op.drop_column('proxy_authorization_id')
    op.drop_table('agency_record_setting')
