"""Shared set-up for the benchmarks: an empty schema on SQLite or PostgreSQL, cheap password hashing."""

from __future__ import annotations

import os
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import text

import workflows  # noqa: F401  (every table and service task registered)
from engine.db import Database
from workflows import org


def fresh_schema(db: Database) -> None:
    """Drop whatever is there (PostgreSQL: the whole public schema) and create every table."""
    if db.is_sqlite:
        from engine.db import Base

        Base.metadata.drop_all(db.engine)
    else:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    db.create_all()
    # Benchmarks measure the engine, not argon2: demo users are created with the cheapest parameters.
    org._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process on this machine (e.g. a PostgreSQL backend) has used, from /proc; 0 once
    it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
