"""The Alembic history builds exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

import workflows.models  # noqa: F401
from engine.db import Base, Database
from web.cli import upgrade_schema

PG_URL = os.environ.get("WEBIR_TEST_DATABASE_URL")
# The migration test uses a database of its own, named after the test database (`test` -> `test_migrations`),
# so it never disturbs the shared test schema nor another run's migration test.
PG_MIGRATION_URL = PG_URL + "_migrations" if PG_URL else None


def _create_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    maintenance = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        maintenance.dispose()


def _reset(database: Database) -> None:
    Base.metadata.drop_all(database.engine)
    with database.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.mark.parametrize("backend", ["sqlite"] + (["postgresql"] if PG_URL else []))
def test_upgrade_head_matches_models_and_is_repeatable(backend, tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}" if backend == "sqlite" else PG_MIGRATION_URL
    if backend == "postgresql":
        _create_pg_database(url)
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
