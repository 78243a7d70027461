"""Issue 10, bench item 5: the stored state of each process instance after a full simulated year.

Run: `.venv/bin/python -m bench state-size [--pg URL]` (URL: a database of its own; its schema is dropped and
recreated; without it, a temporary SQLite file). It lives the year of tests/simulated_year.py (one agency,
2026-01 .. 2027-04 on the simulated clock, scripted users completing every task) and reports, per process id:
instances, median and max bytes of the stored state column (`process_instance.state`, the workflow's JSON
compressed with zlib) and the biggest JSON it holds, the biggest instance, and the first and last instance's size
(state that grows with the age of the system shows there). It
also samples the biggest state of any instance after each move of the clock, flags any state over 100 KB, shows
where the biggest state's bytes are, and counts the rows of every table at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the simulated year's scripted users (tests/simulated_year.py)

LIMIT = 100 * 1024  # the target: no instance state over 100 KB


def _prepare(db, accounts: int) -> dict[str, int]:
    """The demo organisation (plus `accounts` more WebIR users in DSW), the bundled models, DSW alone approved, the
    simulated clock at the year's start."""
    import simulated_year
    from sqlalchemy import select

    from bench.common import fresh_schema
    from engine import clock
    from engine.models import SimulatedClockState, User
    from engine.simulated_clock import ROW_ID, SimulatedClock
    from workflows import bundled, demo, org

    fresh_schema(db)
    with db.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
        bundled.deploy_bundled(session)
        for n in range(accounts):
            org.create_user(session, f"dsw.user{n + 2}", "DSW", "bench-pass-2026", roles=("user",), actor="bench")
        session.add(SimulatedClockState(id=ROW_ID, now=simulated_year.START, updated_at=simulated_year.START))
    simulated_year.only_this_agency(db)
    clock.install(SimulatedClock(db))
    with db.sessions() as session:
        return {u.username: u.id for u in session.scalars(select(User))}


def _sizes(db) -> list[tuple[str, int, dt.datetime, str, int, int]]:
    """(process id, instance id, started at, status, stored state bytes, its JSON's bytes) of every instance."""
    from sqlalchemy import select

    from engine.models import ProcessInstance
    from engine.state import state_text

    with db.sessions() as session:
        rows = session.execute(select(ProcessInstance.process_id, ProcessInstance.id, ProcessInstance.started_at,
                                      ProcessInstance.status, ProcessInstance.state)
                               .order_by(ProcessInstance.id))
        return [(p, i, started, status.value, len(state), len(state_text(state).encode()))
                for p, i, started, status, state in rows]


def _anatomy(db, instance_id: int) -> str:
    """Where the bytes of one stored state are: workflow data, top-level task tree, each subprocess tree."""
    from engine.models import ProcessInstance
    from engine.state import state_text

    with db.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        text = state_text(instance.state)
        state = json.loads(text)
    subprocesses = sorted(len(json.dumps(tree)) for tree in state.get("subprocesses", {}).values())
    tasks = state.get("tasks", {})
    task_data = sum(len(json.dumps(task.get("data", {}))) for task in tasks.values())
    return (f"biggest instance #{instance_id} ({instance.process_id}): {len(instance.state):,} bytes stored, "
            f"{len(text.encode()):,} bytes of JSON = workflow data {len(json.dumps(state.get('data', {}))):,} + "
            f"top-level task tree {len(json.dumps(tasks)):,} ({len(tasks)} tasks, their data {task_data:,}) "
            f"+ {len(subprocesses)} subprocess trees {sum(subprocesses):,} (each {min(subprocesses, default=0):,}-"
            f"{max(subprocesses, default=0):,}) + the rest")


def _row_counts(db) -> str:
    from sqlalchemy import func, select

    from engine.db import Base

    with db.sessions() as session:
        counts = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    return ", ".join(f"{name} {n:,}" for name, n in sorted(counts.items(), key=lambda item: -item[1]) if n)


def report(sizes: list[tuple[str, int, dt.datetime, str, int, int]]) -> list[str]:
    """The markdown table: one row per process id, biggest first (bytes stored; the JSON's bytes beside the max)."""
    by_process: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for process_id, instance_id, _, _, size, json_size in sizes:
        by_process[process_id].append((instance_id, size, json_size))
    lines = ["| process | instances | median bytes | max bytes (its JSON) | biggest instance | first / last instance "
             "bytes | over 100 KB |", "|---|---|---|---|---|---|---|"]
    for process_id, rows in sorted(by_process.items(), key=lambda item: -max(row[1] for row in item[1])):
        biggest = max(rows, key=lambda row: row[1])
        over = sum(row[1] > LIMIT for row in rows)
        lines.append(f"| {process_id} | {len(rows)} | {statistics.median(row[1] for row in rows):,.0f} | "
                     f"{biggest[1]:,} ({biggest[2]:,}) | #{biggest[0]} | {rows[0][1]:,} / {rows[-1][1]:,} | "
                     f"{over or '-'} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Prints the report; returns the biggest stored state in bytes."""
    parser = argparse.ArgumentParser(prog="python -m bench state-size", description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=None, help="PostgreSQL URL (its schema is dropped and recreated)")
    parser.add_argument("--accounts", type=int, default=0, help="more WebIR users in DSW than the demo's (a bigger "
                        "agency: processes that act per account grow with it)")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="webir-state-size-")
    os.environ["WEBIR_INSTANCE_PATH"] = str(Path(folder) / "instance")  # uploaded evidence goes here

    import simulated_year

    from engine.db import Database

    db = Database(args.pg or f"sqlite:///{folder}/state.sqlite3")
    year = simulated_year.SimulatedYear(db, _prepare(db, args.accounts))
    cpu, wall, peak = time.process_time(), time.perf_counter(), [0, None, None]

    def sample(moment: dt.datetime) -> None:
        top = max(_sizes(db), key=lambda row: row[4], default=None)
        if top and top[4] > peak[0]:
            peak[:] = [top[4], f"#{top[1]} {top[0]}", moment.isoformat()]

    simulated_year.live_the_year(db, year, after_work=sample)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    sizes = _sizes(db)
    print(f"{db.engine.dialect.name}: a simulated year of DSW (2026-01-01 .. 2027-04-02; {args.accounts} WebIR users "
          f"more than the demo's), {len(year.completed)} task "
          f"completions, {len(sizes)} instances ({sum(s[3] == 'completed' for s in sizes)} completed); "
          f"{wall:.0f} s wall, {cpu:.0f} s CPU; load average {os.getloadavg()[0]:.1f}")
    print("\n".join(report(sizes)))
    print("\n" + _anatomy(db, max(sizes, key=lambda row: row[4])[1]))
    over = [s for s in sizes if s[4] > LIMIT]
    print(f"\nbiggest state sampled after each move of the clock: {peak[0]:,} bytes ({peak[1]}, after the move to "
          f"{peak[2]}); total stored state {sum(s[4] for s in sizes):,} bytes")
    print(f"instances over 100 KB: {len(over)}"
          + "".join(f"\n  #{i} {p} {size:,} bytes" for p, i, _, _, size, _ in over))
    print(f"rows per table after the year (what grows with age): {_row_counts(db)}")
    db.dispose()
    return max(size for *_, size, _ in sizes)


if __name__ == "__main__":
    main()
