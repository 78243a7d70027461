"""Shared fixtures: a fresh database per test on SQLite, and on PostgreSQL when WEBIR_TEST_DATABASE_URL is set."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, select, text

import workflows  # noqa: F401  (registers roles and service tasks)
from engine.db import Base, Database
from engine.models import User
from workflows import bundled, demo, org

# Cheap password hashing in tests only (the demo organisation is rebuilt for every test).
org._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
BASE_PG_URL = os.environ.get("WEBIR_TEST_DATABASE_URL")
# Under `pytest -n` (pytest-xdist) each worker (gw0, gw1...) runs on databases of its own: `test` -> `test_gw0`.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def worker_database_url(url: str | None, suffix: str = "") -> str | None:
    """The database of this test worker for a test database URL (created when missing), plus a suffix."""
    if not url:
        return None
    mine = url + (f"_{WORKER}" if WORKER else "") + suffix
    if mine != url:
        _create_pg_database(mine)
    return mine


def _create_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    maintenance = create_engine(BASE_PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        maintenance.dispose()


PG_URL = worker_database_url(BASE_PG_URL)
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
_pg_database: Database | None = None


def _postgres() -> Database:
    """One PostgreSQL database per test worker, emptied before each test."""
    global _pg_database
    if _pg_database is None:
        _pg_database = Database(PG_URL)
        with _pg_database.engine.begin() as conn:  # whatever an earlier run (of another branch) left there
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        _pg_database.create_all()
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with _pg_database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return _pg_database


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path) -> Database:
    """An empty database with every table."""
    if request.param == "postgresql":
        yield _postgres()
        return
    database = Database(f"sqlite:///{tmp_path / 'test.sqlite3'}")
    database.create_all()
    yield database
    database.dispose()


@pytest.fixture
def org_db(db) -> Database:
    """The demo organisation with the bundled models deployed."""
    with db.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
        bundled.deploy_bundled(session)
    return db


@pytest.fixture
def users(org_db) -> dict[str, int]:
    """Demo username -> user id."""
    with org_db.sessions() as session:
        return {u.username: u.id for u in session.scalars(select(User))}


@pytest.fixture
def app(org_db, tmp_path, monkeypatch):
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path / "instance"))
    from web import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE": org_db})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token_for(org_db):
    """Issue a bearer token for a demo user; returns request headers."""

    def make(username: str) -> dict[str, str]:
        with org_db.transaction() as session:
            token = org.issue_token(session, username)
        return {"Authorization": f"Bearer {token}"}

    return make



@pytest.fixture
def auth(token_for):
    """Bearer headers per demo username, issued once each."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = token_for(username)
        return cache[username]

    return headers


@pytest.fixture
def webir(tmp_path, monkeypatch):
    """Run `webir ...` against a fresh SQLite database in tmp_path (simulated clock)."""
    from click.testing import CliRunner

    from engine import clock
    from web.cli import main

    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("WEBIR_DATABASE_URL", raising=False)
    monkeypatch.setenv("WEBIR_CLOCK", "simulated")
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    yield run
    clock.install(clock.SystemClock())

FORM_1_2 = {
    "unit": "社會救助科 Social Assistance", "job_title": "社工員 Social worker",
    "employment_type": "civil_servant", "egov_account": "tsai.egov", "purpose": "查核低收入戶資格",
    "business_items": ["social_assistance"], "legal_basis": "社會救助法第 5 條", "requested_role": "user",
    "application_date": "2026-11-29",
}
GRANT = {"purpose_checked": True, "legal_basis_checked": True, "within_business_scope": True,
         "decision": "grant"}
# The unit supervisor's confirmation of the business need (dsw.unit in the demo), before the review (R5.3).
CONFIRM = {"unit_decision": "confirm", "business_need_confirmed": True}


@pytest.fixture
def sim_clock(db):
    """The simulated clock on this test's database; `sim_clock.set(...)` jumps anywhere (tests only),
    without firing anything, like time passing while no scheduler runs. System clock after."""
    from engine import clock
    from engine.models import SimulatedClockState
    from engine.simulated_clock import ROW_ID, SimulatedClock

    class TimeMachine(SimulatedClock):
        def set(self, when):
            with self.db.transaction() as session:
                row = session.get(SimulatedClockState, ROW_ID)
                if row is None:
                    session.add(SimulatedClockState(id=ROW_ID, now=when, updated_at=when))
                else:
                    row.now = when

    simulated = TimeMachine(db)
    clock.install(simulated)
    yield simulated
    clock.install(clock.SystemClock())


def pytest_terminal_summary(terminalreporter):
    """Print how many conformance models completed, per database (issue 11 asks for the count)."""
    runs = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])
            if "test_model_runs_to_completion_through_the_api" in r.nodeid]
    for backend in BACKENDS:
        mine = [r for r in runs if f"[{backend}-" in r.nodeid]
        if mine:
            done = sum(r.outcome == "passed" for r in mine)
            terminalreporter.write_line(f"conformance ({backend}): {done}/{len(mine)} models completed")
