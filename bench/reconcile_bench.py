"""Benchmark: import and reconcile a city-scale month (1,000,000 log records vs 1,000,000 register entries).

Run: `.venv/bin/python bench/reconcile_bench.py --n 1000000 [--pg URL] [--data DIR]`.
1. bench/gen_records.py writes the month (with n/1000 of each planted anomaly) unless DIR already has it.
2. Per database: a fresh schema, the organisation the generator assumes, then the real `webir import-query-log`
   and `webir import-register` commands in a child process each (wall time and the child's peak RSS).
3. `reconcile` (set-based SQL, findings stored) timed, and a straightforward Python-loop baseline on the same
   data; both must report exactly the planted counts.
PostgreSQL runs in its own schema (`webir_bench`) so it never touches other tables of that database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen_records  # noqa: E402
from reconcile_baseline import python_reconcile  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402

import workflows  # noqa: E402, F401
from bench.common import process_cpu_seconds  # noqa: E402
from engine.bundle import ModelFile  # noqa: E402
from engine.db import Base, Database  # noqa: E402
from engine.models import Agency, ProcessInstance, ProcessVersion, RoleAssignment, User  # noqa: E402
from workflows import bundled  # noqa: E402
from workflows.models import AccountApplication  # noqa: E402
from workflows.reconcile import reconcile  # noqa: E402

TPE = dt.timezone(dt.timedelta(hours=8))
AGENCY = "BENCH"
PG_SCHEMA = "webir_bench"
# Filed Form 1-2 rows need a process instance; a stub process stands in for user_account_application.
STUB = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="records_stub" isExecutable="true"><bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end"/></bpmn:process></bpmn:definitions>"""
# The child reports its own peak RSS (VmHWM: reset by exec, unlike ru_maxrss, which a fork of this big
# process would inherit).
CHILD = """
import re, sys, time
from web.cli import main
started = time.perf_counter()
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    peak = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
    print(f"CHILD {time.perf_counter() - started:.2f} {peak}", file=sys.stderr)
"""


def _fresh_schema(url: str) -> Database:
    if url.startswith("postgresql"):
        base = Database(url.split("?")[0])
        with base.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
        base.dispose()
    db = Database(url)
    Base.metadata.drop_all(db.engine)
    db.create_all()
    return db


def _organisation(db: Database, manifest: dict) -> None:
    """The agency, its users with `user` since January, and Form 1-2 grants naming business items (R5.3)."""
    granted = dt.datetime(2024, 1, 1, tzinfo=TPE)
    with db.transaction() as session:
        agency = Agency(code=AGENCY, name="Benchmark agency", approved_on=dt.date(2024, 1, 1))
        session.add(agency)
        session.flush()
        bundled.deploy_files(session, [ModelFile("records_stub.bpmn", STUB.encode())], "bench", "bench")
        version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == "records_stub"))
        for n in range(manifest["users"]):
            user = User(username=f"u{n:04d}", agency_id=agency.id, password_hash="-")  # noqa: S106 - no login in the benchmark
            session.add(user)
            session.flush()
            session.add(RoleAssignment(user_id=user.id, agency_id=agency.id, role="user", granted_at=granted))
            if n < manifest["scoped_users"]:
                instance = ProcessInstance(process_id=version.process_id, process_version_id=version.id,
                                           version=version.deployment_id, agency_id=agency.id, started_by_id=user.id)
                session.add(instance)
                session.flush()
                session.add(AccountApplication(instance_id=instance.id, user_id=user.id, agency_id=agency.id,
                                               egov_account=f"egov.u{n:04d}", business_items=["social_assistance"],
                                               outcome="granted", decided_at=granted))


def _import(url: str, command: str, path: Path, instance: Path) -> tuple[float, float]:
    """Run the real CLI import in a child; (seconds, peak RSS in MB)."""
    env = {"WEBIR_DATABASE_URL": url, "WEBIR_INSTANCE_PATH": str(instance), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", CHILD, command, str(path), "--agency", AGENCY],  # noqa: S603
                          env=env, capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parent.parent)
    line = next(x for x in done.stderr.splitlines() if x.startswith("CHILD"))
    print("   ", done.stdout.strip().splitlines()[0])
    _, seconds, rss_kb = line.split()
    return float(seconds), int(rss_kb) / 1024



_STEP = re.compile(r"^\s*(?:CREATE TEMP TABLE|INSERT INTO|CREATE (?:UNIQUE )?INDEX(?: IF NOT EXISTS)? \w+ ON|ANALYZE"
                   r"|DROP TABLE(?: IF EXISTS)?|SELECT COUNT\(\*\)(?:, SUM)?[^F]*FROM)\s*(\w+)", re.IGNORECASE)


def _backend_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) the PostgreSQL backend `pid` used so far, from /proc (0 without one)."""
    return 0.0 if pid is None else process_cpu_seconds(pid)


class StepTimer:
    """Wall, this process's CPU and the PostgreSQL backend's CPU per reconciliation statement, grouped by the
    temporary table (or command) each statement fills, so the cost of each step shows beside the total."""

    def __init__(self, db: Database):
        self.db, self.steps, self.pid, self.first_pid, self._start = db, {}, None, None, None
        event.listen(db.engine, "before_cursor_execute", self._before)
        event.listen(db.engine, "after_cursor_execute", self._after)

    def close(self) -> None:
        event.remove(self.db.engine, "before_cursor_execute", self._before)
        event.remove(self.db.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if not self.db.is_sqlite:  # psycopg knows its backend's pid without a query
            self.pid = conn.connection.dbapi_connection.info.backend_pid
            self.first_pid = self.first_pid or self.pid
        self._start = (time.perf_counter(), time.process_time(), _backend_cpu(self.pid))

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        wall, cpu, server = self._start
        found = _STEP.match(statement)
        label = (statement.split()[0] + " " + found.group(1)) if found else " ".join(statement.split()[:3])[:40]
        total = self.steps.setdefault(label, [0.0, 0.0, 0.0, 0])
        total[0] += time.perf_counter() - wall
        total[1] += time.process_time() - cpu
        total[2] += _backend_cpu(self.pid) - server
        total[3] += 1

    def report(self) -> None:
        for label, (wall, cpu, server, count) in self.steps.items():
            if wall >= 0.05 or cpu >= 0.05 or server >= 0.05:
                print(f"      {label:<36} x{count:<3} wall {wall:6.2f}  cpu {cpu:6.2f}  server cpu {server:6.2f}")


def _timed_reconcile(db: Database, period: str, steps: bool = True) -> tuple[float, float, dict]:
    """Wall seconds, this process's CPU seconds (SQLite works in-process), counts; per step with `steps`."""
    timer = StepTimer(db) if steps else None
    started, cpu = time.perf_counter(), time.process_time()
    with db.transaction() as session:
        agency = session.scalar(select(Agency).where(Agency.code == AGENCY))
        result = reconcile(session, agency, period, actor="bench")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if timer:
        timer.close()
        if timer.pid:
            server = sum(step[2] for step in timer.steps.values())
            print(f"    server backend cpu {server:.2f} s (sum over statements, backend {timer.pid}"
                  f"{'' if timer.pid == timer.first_pid else ', changed during the run'})")
        timer.report()
    return wall, cpu, result.counts


def _timed_baseline(db: Database, period: str) -> tuple[float, dict]:
    started = time.perf_counter()
    with db.sessions() as session:
        agency = session.scalar(select(Agency).where(Agency.code == AGENCY))
        counts = python_reconcile(session, agency, period)
    return time.perf_counter() - started, counts


def _imported(url: str, manifest: dict) -> bool:
    """Whether the database already holds the month (both files imported in full) for `--reuse`."""
    db = Database(url)
    try:
        with db.sessions() as session:
            logs = session.execute(text("SELECT COUNT(*) FROM query_log_record")).scalar()
            entries = session.execute(text("SELECT COUNT(*) FROM register_entry")).scalar()
    except Exception:  # noqa: BLE001 - no schema yet
        return False
    finally:
        db.dispose()
    return logs == entries == manifest["n"]


def run_backend(name: str, url: str, data: Path, manifest: dict, runs: int, baseline: bool = True,
                reuse: bool = False) -> dict:
    print(f"== {name}")
    log_s = log_mb = reg_s = reg_mb = 0.0
    if reuse and _imported(url, manifest):
        print("    reusing the imported month")
    else:
        db = _fresh_schema(url)
        _organisation(db, manifest)
        db.dispose()
        with tempfile.TemporaryDirectory() as instance:
            log_s, log_mb = _import(url, "import-query-log", data / "log.csv", Path(instance))
            reg_s, reg_mb = _import(url, "import-register", data / "register.csv", Path(instance))
    db = Database(url)
    times, cpu_times, counts = [], [], {}
    for _ in range(runs):
        seconds, cpu, counts = _timed_reconcile(db, manifest["period"])
        times.append(round(seconds, 2))
        cpu_times.append(round(cpu, 2))
        print(f"    reconcile {seconds:.2f} s (cpu here {cpu:.2f} s, load {os.getloadavg()[0]:.1f}) {counts}")
    base_s, base_counts = _timed_baseline(db, manifest["period"]) if baseline else (0.0, manifest["expected"])
    print(f"    python loop {base_s:.2f} s {base_counts}")
    db.dispose()
    return {"backend": name, "import_log_s": log_s, "import_log_mb": log_mb, "import_register_s": reg_s,
            "import_register_mb": reg_mb, "reconcile_s": times, "reconcile_cpu_s": cpu_times,
            "baseline_s": round(base_s, 2),
            "exact": counts == manifest["expected"], "baseline_exact": base_counts == manifest["expected"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "webir-records")
    parser.add_argument("--pg", default=None, help="PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1"
                                                   ":5432/postgres (the bench uses its own schema in it)")
    parser.add_argument("--sqlite", type=Path, default=None, help="SQLite file (default: a temporary one)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--skip-sqlite", action="store_true", help="Only PostgreSQL (with --pg).")
    parser.add_argument("--no-baseline", action="store_true", help="Skip the Python-loop baseline.")
    parser.add_argument("--reuse", action="store_true", help="Keep an already imported month (the --sqlite file, "
                                                             "the PostgreSQL schema) and only reconcile.")
    args = parser.parse_args()
    planted = args.data / "planted.json"
    manifest = json.loads(planted.read_text()) if planted.exists() else None
    if not manifest or manifest["n"] != args.n:
        started = time.perf_counter()
        manifest = gen_records.generate(args.n, args.data)
        print(f"generated {args.n} + {args.n} rows in {time.perf_counter() - started:.1f} s into {args.data}")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite_path = args.sqlite or Path(folder) / "bench.sqlite3"
        if not args.reuse:
            sqlite_path.unlink(missing_ok=True)
        if not args.skip_sqlite:
            results.append(run_backend("SQLite", f"sqlite:///{sqlite_path}", args.data, manifest, args.runs,
                                       not args.no_baseline, args.reuse))
        if args.pg:
            url = f"{args.pg}?options=-csearch_path%3D{PG_SCHEMA}"
            results.append(run_backend("PostgreSQL", url, args.data, manifest, args.runs, not args.no_baseline,
                                       args.reuse))
    print(json.dumps({"expected": manifest["expected"], "results": results}, indent=2))


if __name__ == "__main__":
    main()
