"""process_instance.state: the workflow state stored zlib-compressed (was the JSON text in state_json)

A workflow's JSON repeats the same keys, ids and values in every task; compressed it is about an eighth of the size
(an instance with a subprocess per account stored ~6 KB per account, now ~0.8 KB), so no instance state grows over
100 KB in an agency of a hundred accounts (issue 10). Existing states are converted in batches of 500 rows, in the
migration's transaction: an interrupted upgrade leaves the old column as it was.

Revision ID: 0009a
Revises: 0008d
Create Date: 2026-11-30
"""
import zlib

import sqlalchemy as sa
from alembic import op

revision = "0009a"
down_revision = "0008d"
branch_labels = None
depends_on = None

_BATCH = 500
_LEVEL = 3  # engine/state.py's level


def _convert(source: str, target: str, encode) -> None:
    """Copy every row's state from column `source` to `target` through `encode`, in id order, a batch at a time."""
    bind = op.get_bind()
    table = sa.table("process_instance", sa.column("id", sa.Integer), sa.column(source), sa.column(target))
    write = table.update().where(table.c.id == sa.bindparam("row_id")).values({target: sa.bindparam("value")})
    last = 0
    while True:
        rows = bind.execute(sa.select(table.c.id, table.c[source]).where(table.c.id > last)
                            .order_by(table.c.id).limit(_BATCH)).all()
        if not rows:
            return
        bind.execute(write, [{"row_id": row_id, "value": encode(value)} for row_id, value in rows])  # one batch
        last = rows[-1][0]


def _drop(column: str) -> None:
    # Not a batch (copy-and-rename) on SQLite: with foreign keys on, the tables that reference process_instance
    # forbid dropping it; SQLite 3.35+ drops a plain column in place.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE process_instance DROP COLUMN {column}")
    else:
        op.drop_column("process_instance", column)


def upgrade() -> None:
    op.add_column("process_instance", sa.Column("state", sa.LargeBinary(), nullable=False,
                                                server_default=sa.text("''")))
    _convert("state_json", "state", lambda text: zlib.compress(text.encode(), _LEVEL) if text else b"")
    _drop("state_json")
    if op.get_bind().dialect.name == "postgresql":  # already compressed: spare TOAST a second, futile attempt
        op.execute("ALTER TABLE process_instance ALTER COLUMN state SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.add_column("process_instance", sa.Column("state_json", sa.Text(), nullable=False, server_default=""))
    _convert("state", "state_json", lambda blob: zlib.decompress(blob).decode() if blob else "")
    _drop("state")
