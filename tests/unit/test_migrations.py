"""The Alembic history builds exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import BASE_PG_URL, worker_database_url
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, text

import workflows.models  # noqa: F401
from engine import runtime
from engine.db import Base, Database
from engine.models import ProcessInstance, User
from engine.state import state_text
from web.cli import REPO_ROOT, upgrade_schema
from workflows import bundled, demo

# The migration test uses a database of its own, named after the worker's test database (`test` ->
# `test_migrations`, `test_gw0_migrations`), so it never disturbs a test schema nor another worker's or run's
# migration test.
PG_MIGRATION_URL = worker_database_url(BASE_PG_URL, "_migrations")


def _reset(database: Database) -> None:
    Base.metadata.drop_all(database.engine)
    with database.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(params=["sqlite"] + (["postgresql"] if PG_MIGRATION_URL else []))
def empty_db(request, tmp_path):
    """An empty database of its own, without any schema (PostgreSQL: emptied before and after)."""
    postgres = request.param == "postgresql"
    database = Database(PG_MIGRATION_URL if postgres else f"sqlite:///{tmp_path / 'm.sqlite3'}")
    if postgres:
        _reset(database)
    try:
        yield database
    finally:
        if postgres:
            _reset(database)
        database.dispose()


# Alembic cannot compare an expression index (it says so, twice): the test checks that one by name below.
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning",
                            "ignore:Skipped unsupported reflection of expression-based index")
def test_upgrade_head_matches_models_and_is_repeatable(empty_db):
    upgrade_schema(empty_db)
    upgrade_schema(empty_db)  # a second run is a no-op
    with empty_db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
        expression_indexes = [index.name for table in Base.metadata.sorted_tables for index in table.indexes
                              if any(not hasattr(expression, "name") for expression in index.expressions)]
        found = "SELECT name FROM sqlite_master WHERE type = 'index'" if empty_db.is_sqlite else \
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        existing = set(conn.execute(text(found)).scalars())
    assert diff == []
    assert expression_indexes == ["ix_human_task_due_order"]
    assert set(expression_indexes) <= existing


def _alembic(database: Database, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning",
                            "ignore:Skipped unsupported reflection of expression-based index")
def test_every_revision_downgrades_one_by_one_to_an_empty_database_and_upgrades_back(empty_db):
    """Each migration's downgrade runs (the revision ids are not in file order: 0007g comes before 0007d), and
    the history builds the models' schema again after it."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    chain = [script.revision for script in ScriptDirectory.from_config(config).walk_revisions()]  # head first
    assert len(chain) >= 18 and chain[-1] == "0001"
    upgrade_schema(empty_db)
    for below in [*chain[1:], "base"]:
        _alembic(empty_db, "downgrade", below)
        with empty_db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == (None if below == "base" else below)
    with empty_db.engine.connect() as conn:
        tables = conn.dialect.get_table_names(conn)
    assert set(tables) <= {"alembic_version"}
    upgrade_schema(empty_db)
    with empty_db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata) == []


def test_0009a_compresses_existing_states_and_back_without_losing_one(empty_db):
    """Issue 10: the stored state moved from JSON text to zlib-compressed bytes; an instance saved before the
    upgrade runs on after it, and a downgrade gives the same JSON back."""
    database = empty_db
    upgrade_schema(database)
    with database.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
        bundled.deploy_bundled(session)
        staff = session.scalar(select(User.id).where(User.username == "dsw.staff"))
    iid = runtime.start_instance(database, "user_account_application", staff)
    with database.sessions() as session:
        text_before = state_text(session.get(ProcessInstance, iid).state)
    _alembic(database, "downgrade", "0008d")
    with database.engine.connect() as conn:
        stored = conn.execute(text("SELECT state_json FROM process_instance WHERE id = :i"), {"i": iid}).scalar()
    assert stored == text_before and '"tasks"' in stored
    _alembic(database, "upgrade", "head")
    with database.sessions() as session:
        instance = session.get(ProcessInstance, iid)
        assert state_text(instance.state) == text_before and len(instance.state) < len(text_before) / 3
    [task] = session_ready_tasks(database, iid)
    assert task.name == "fill_form_1_2"


def session_ready_tasks(database: Database, iid: int):
    """The instance's ready task rows, once the workflow was restored from its converted state."""
    from engine.models import HumanTask, ProcessVersion, TaskStatus
    from engine.state import load_workflow

    with database.sessions() as session:
        instance = session.get(ProcessInstance, iid)
        workflow = load_workflow(session.get(ProcessVersion, instance.process_version_id), instance.state, None)
        assert [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == ["fill_form_1_2"]
        return session.scalars(select(HumanTask).where(HumanTask.instance_id == iid,
                                                       HumanTask.status == TaskStatus.READY)).all()
