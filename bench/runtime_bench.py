"""Benchmark: latency of start / complete on the bundled user_account_application, SQLite and PostgreSQL.

Run: `.venv/bin/python bench/runtime_bench.py [--n 200] [--pg URL]`; results are written up in bench/results.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

import workflows  # noqa: E402, F401
from engine import runtime  # noqa: E402
from engine.db import Base, Database  # noqa: E402
from engine.models import HumanTask, TaskStatus, User  # noqa: E402
from workflows import bundled, demo, org  # noqa: E402

FORM = {"unit": "社會救助科", "job_title": "社工員", "employment_type": "civil_servant", "egov_account": "bench01",
        "purpose": "查核資格", "business_items": ["social_assistance"], "legal_basis": "社會救助法第 5 條",
        "requested_role": "user", "application_date": "2026-11-29"}
GRANT = {"purpose_checked": True, "legal_basis_checked": True, "within_business_scope": True,
         "decision": "grant"}


def _prepare(db: Database) -> dict[str, int]:
    Base.metadata.drop_all(db.engine)
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.create_all()
    org._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with db.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
        bundled.deploy_bundled(session)
        return {u.username: u.id for u in session.scalars(select(User))}


def _ready_task(db: Database, iid: int) -> int:
    with db.sessions() as session:
        return session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                         HumanTask.status == TaskStatus.READY))


def _timed(samples: list[float], func, *args):
    start = time.perf_counter()
    result = func(*args)
    samples.append((time.perf_counter() - start) * 1000)
    return result


def run(db: Database, n: int) -> dict[str, list[float]]:
    users = _prepare(db)
    times: dict[str, list[float]] = {"start": [], "complete_form": [], "complete_review": []}
    for _ in range(n):
        iid = _timed(times["start"], runtime.start_instance, db, "user_account_application", users["dsw.staff"])
        _timed(times["complete_form"], runtime.complete_task, db, _ready_task(db, iid), users["dsw.staff"], FORM)
        _timed(times["complete_review"], runtime.complete_task, db, _ready_task(db, iid), users["dsw.admin"],
               GRANT)
    return times


def report(name: str, times: dict[str, list[float]]) -> None:
    for op, samples in times.items():
        samples = sorted(samples)
        p95 = samples[int(len(samples) * 0.95) - 1]
        print(f"| {name} | {op} | {len(samples)} | {statistics.median(samples):.1f} | {p95:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--pg", default=None, help="PostgreSQL URL (its tables are dropped and recreated)")
    args = parser.parse_args()
    print("| database | operation | n | median ms | p95 ms |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite", run(Database(f"sqlite:///{folder}/bench.sqlite3"), args.n))
    if args.pg:
        report("PostgreSQL", run(Database(args.pg), args.n))


if __name__ == "__main__":
    main()
