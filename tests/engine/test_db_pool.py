"""Pooled PostgreSQL connections the server ended are replaced (engine/db.py: ping after idle, not per checkout)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine.db import Database
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only (WEBIR_TEST_DATABASE_URL)")


def _backend_pid(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(text("SELECT pg_backend_pid()"))


def _terminate(pid: int) -> None:
    killer = Database(PG_URL)
    try:
        with killer.engine.begin() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # until the server has let it go
            with killer.engine.connect() as conn:
                if not conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
                    return
            time.sleep(0.02)
    finally:
        killer.dispose()


def test_a_connection_ended_while_idle_is_replaced_before_use():
    db = Database(PG_URL, ping_after_idle=0.05)
    try:
        first = _backend_pid(db)
        _terminate(first)  # a server restart or idle timeout while the connection sat in the pool
        time.sleep(0.1)
        second = _backend_pid(db)  # no error: the ping found it dead and the pool connected again
        assert second != first
    finally:
        db.dispose()


def test_a_connection_reused_at_once_is_not_pinged_and_a_dead_one_fails_once_then_is_replaced():
    db = Database(PG_URL, ping_after_idle=3600)
    try:
        pings = []
        original = db.engine.dialect.do_ping
        db.engine.dialect.do_ping = lambda connection: pings.append(1) or original(connection)
        first = _backend_pid(db)
        assert _backend_pid(db) == first and not pings  # reused without a round trip of its own
        _terminate(first)
        with pytest.raises(OperationalError) as failed:
            _backend_pid(db)
        assert failed.value.connection_invalidated  # recognised as a disconnect: the pool drops the connection
        assert _backend_pid(db) not in (first, None)
    finally:
        db.dispose()
