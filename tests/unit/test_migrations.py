"""The Alembic history builds exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

import workflows.models  # noqa: F401
from engine.db import Base, Database
from web.cli import upgrade_schema

PG_URL = os.environ.get("WEBIR_TEST_DATABASE_URL")
# The migration test uses its own PostgreSQL database so it never disturbs the shared test schema.
PG_MIGRATION_URL = PG_URL.rsplit("/", 1)[0] + "/postgres" if PG_URL else None


def _reset(database: Database) -> None:
    Base.metadata.drop_all(database.engine)
    with database.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.mark.parametrize("backend", ["sqlite"] + (["postgresql"] if PG_URL else []))
def test_upgrade_head_matches_models_and_is_repeatable(backend, tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}" if backend == "sqlite" else PG_MIGRATION_URL
    database = Database(url)
    if backend == "postgresql":
        _reset(database)
    try:
        upgrade_schema(database)
        upgrade_schema(database)  # a second run is a no-op
        with database.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}),
                                    Base.metadata)
        assert diff == []
    finally:
        if backend == "postgresql":
            _reset(database)
        database.dispose()
