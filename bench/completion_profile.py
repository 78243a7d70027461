"""Where a task completion's time goes: SQL statements and CPU per completion, per step, optionally cProfile.

Run: `.venv/bin/python bench/completion_profile.py [--pg URL] [--n 40] [--sql] [--profile]`. Drives the same
user_account_application steps as bench/runtime_bench.py through engine.runtime.complete_task and reports, per
step, the statements sent (SQLAlchemy `before_cursor_execute`; PostgreSQL pool pings are counted apart), the
process CPU per completion and, on PostgreSQL, the server backend's CPU (from /proc). CPU, not wall: it
holds up on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402

from bench.common import process_cpu_seconds  # noqa: E402
from bench.runtime_bench import STEPS, _prepare, _ready_task  # noqa: E402
from engine import runtime  # noqa: E402
from engine.db import Database  # noqa: E402


def _backend_cpu(pids: set[int]) -> float:
    """CPU seconds the PostgreSQL backends of this process's connections used so far."""
    return sum(process_cpu_seconds(pid) for pid in pids)


def _watch(db: Database) -> tuple[list[str], set[int]]:
    statements: list[str] = []
    pids: set[int] = set()
    event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    ping = db.engine.dialect.do_ping  # pool pings bypass the cursor events: counted apart, as "-- ping"
    db.engine.dialect.do_ping = lambda connection: statements.append("-- ping") or ping(connection)
    if not db.is_sqlite:
        def backend_pid(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids.add(cursor.fetchone()[0])
        event.listen(db.engine, "connect", backend_pid)
        db.engine.dispose()
    return statements, pids


def run(db: Database, n: int, profile: cProfile.Profile | None) -> dict:
    users = _prepare(db)
    statements, pids = _watch(db)
    counts, cpu, last, pings = defaultdict(list), defaultdict(list), {}, []
    backend = 0.0
    for i in range(n + 3):  # three warm-up applications
        iid = runtime.start_instance(db, "user_account_application", users["dsw.staff"])
        while (ready := _ready_task(db, iid)) is not None:
            username, data = STEPS[ready[1]]
            statements.clear()
            started, pg_started = time.process_time(), _backend_cpu(pids)
            if profile and i >= 3:
                profile.enable()
            runtime.complete_task(db, ready[0], users[username], data)
            if profile:
                profile.disable()
            if i >= 3:
                cpu[ready[1]].append((time.process_time() - started) * 1000)
                backend += _backend_cpu(pids) - pg_started
                counts[ready[1]].append(sum(sql != "-- ping" for sql in statements))
                pings.append(statements.count("-- ping"))
                last[ready[1]] = list(statements)
    completions = sum(len(v) for v in cpu.values())
    return {"counts": counts, "cpu": cpu, "last": last, "backend_ms": backend * 1000 / completions,
            "pings": statistics.mean(pings)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40, help="applications (three completions each)")
    parser.add_argument("--pg", default=None, help="PostgreSQL URL (its tables are dropped and recreated)")
    parser.add_argument("--sql", action="store_true", help="print the statements of each step's last completion")
    parser.add_argument("--profile", action="store_true", help="cProfile the completions (slows them down)")
    args = parser.parse_args()
    profile = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as folder:
        db = Database(args.pg or f"sqlite:///{folder}/bench.sqlite3")
        result = run(db, args.n, profile)
    print(f"{db.engine.dialect.name}, load average {os.getloadavg()[0]:.1f}")
    print("| step | statements | process CPU ms median |\n|---|---|---|")
    for step, counts in result["counts"].items():
        print(f"| {step} | {statistics.median(counts):.0f} | {statistics.median(result['cpu'][step]):.2f} |")
    every = [c for counts in result["counts"].values() for c in counts]
    print(f"mean statements per completion {statistics.mean(every):.1f}")
    if not db.is_sqlite:
        print(f"PostgreSQL backend CPU per completion {result['backend_ms']:.2f} ms; "
              f"pool pings per completion {result['pings']:.1f}")
    if args.sql:
        for step, statements in result["last"].items():
            print(f"-- {step}")
            for sql in statements:
                print("  ", re.sub(r"\s+", " ", sql)[:160])
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
