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

from sqlalchemy import select  # noqa: E402

import workflows  # noqa: E402, F401
from bench.common import fresh_schema  # noqa: E402
from engine import runtime  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import HumanTask, TaskStatus, User  # noqa: E402
from workflows import bundled, demo  # noqa: E402

FORM = {"unit": "社會救助科", "job_title": "社工員", "employment_type": "civil_servant", "egov_account": "bench01",
        "purpose": "查核資格", "business_items": ["social_assistance"], "legal_basis": "社會救助法第 5 條",
        "requested_role": "user", "application_date": "2026-11-29"}
GRANT = {"purpose_checked": True, "legal_basis_checked": True, "within_business_scope": True,
         "decision": "grant"}
# Each step of the application: who does it and what they submit (by the task's BPMN element id).
STEPS = {"fill_form_1_2": ("dsw.staff", FORM),
         "confirm_business_need": ("dsw.unit", {"unit_decision": "confirm", "business_need_confirmed": True}),
         "review_application": ("dsw.admin", GRANT)}


def _prepare(db: Database) -> dict[str, int]:
    fresh_schema(db)
    with db.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
        bundled.deploy_bundled(session)
        return {u.username: u.id for u in session.scalars(select(User))}


def _ready_task(db: Database, iid: int) -> tuple[int, str] | None:
    with db.sessions() as session:
        row = session.execute(select(HumanTask.id, HumanTask.name).where(
            HumanTask.instance_id == iid, HumanTask.status == TaskStatus.READY)).first()
        return tuple(row) if row else None


def _timed(samples: list[float], func, *args):
    start = time.perf_counter()
    result = func(*args)
    samples.append((time.perf_counter() - start) * 1000)
    return result


def run(db: Database, n: int) -> dict[str, list[float]]:
    """Start n applications and complete every step of each; milliseconds per operation."""
    return applications(db, _prepare(db), n)


def applications(db: Database, users: dict[str, int], n: int) -> dict[str, list[float]]:
    """Start n applications on a prepared database and complete every step of each; ms per operation."""
    times: dict[str, list[float]] = {"start": [], "complete": []}
    for _ in range(n):
        iid = _timed(times["start"], runtime.start_instance, db, "user_account_application", users["dsw.staff"])
        while (ready := _ready_task(db, iid)) is not None:
            username, data = STEPS[ready[1]]
            _timed(times["complete"], runtime.complete_task, db, ready[0], users[username], data)
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
