"""tamper-evident audit log: each event chained to the previous by SHA-256

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=""))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=False, server_default=""))
    # Events written before the chain existed are sealed now, in id order, so `webir audit verify` covers them.
    from engine.audit import GENESIS, event_hash

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, at, actor, action, instance_id, task_id, status_before, status_after, "
                                "detail FROM audit_event ORDER BY id")).mappings().all()
    previous = GENESIS
    for row in rows:
        event = _Event(**row)
        digest = event_hash(previous, event)
        bind.execute(sa.text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :i"),
                     {"p": previous, "h": digest, "i": row["id"]})
        previous = digest


def downgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")


class _Event:
    """The fields event_hash reads, from a raw row (the ORM model may have moved on since)."""

    def __init__(self, **row):
        import datetime as dt
        import json

        self.__dict__.update(row)
        at = row["at"]
        if isinstance(at, str):
            at = dt.datetime.fromisoformat(at)
        self.at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        self.at = self.at.astimezone(dt.UTC)
        if isinstance(self.detail, str):
            self.detail = json.loads(self.detail)
