"""Benchmark: the inbox page for a user with 5,000 tasks among 500,000 task rows, SQLite and PostgreSQL.

Run: `.venv/bin/python bench/inbox_bench.py [--rows 500000] [--mine 5000] [--repeat 30] [--pg URL]
[--paths inbox|api|all] [--per-instance 4]` (`--paths api`: GET /api/v1/tasks and the instance lists).
The PostgreSQL run works in its own schema (`inbox_bench`, dropped afterwards) so it never touches other data in
that database. Server time is measured inside the app (before_request -> after_request), every page rendered in
full (tab counts, the page of 50 rows, the start-a-process list); results are written up in bench/results.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from argon2 import PasswordHasher  # noqa: E402
from flask import g  # noqa: E402
from sqlalchemy import event, func, insert, select, text  # noqa: E402

import workflows  # noqa: E402, F401
from bench.common import process_cpu_seconds  # noqa: E402
from engine.db import Base, Database  # noqa: E402
from engine.models import Agency, HumanTask, InstanceStatus, ProcessInstance, ProcessVersion, TaskStatus, User  # noqa: E402
from workflows import bundled, demo, org  # noqa: E402

BENCH_USER = "dsw.admin"  # agency_admin of DSW
SCHEMA = "inbox_bench"
CHUNK = 50_000
TASKS_PER_INSTANCE = 4
PAGES = ("/", "/?tab=assigned", "/?tab=claimable", "/?tab=completed", "/?tab=all", "/?overdue=1",
         "/?sort=process", "/?due_by=2026-12-01", "/?page=60", "/?sort=priority", "/?priority=urgent")
# The REST API's task list (GET /api/v1/tasks, 50 per page) and the instance list (API and page).
API_PATHS = ("/api/v1/tasks", "/api/v1/tasks?scope=all", "/api/v1/tasks?status=completed",
             "/api/v1/tasks?scope=all&status=completed", "/api/v1/tasks?process_id=user_account_application",
             "/api/v1/tasks?page=60", "/api/v1/process-instances", "/instances")
PATHS = {"inbox": PAGES, "api": API_PATHS, "all": PAGES + API_PATHS}
NOW = dt.datetime(2026, 11, 29, 4, 0, tzinfo=dt.UTC)


def _database(url: str | None, folder: Path, keep: bool = False, size: str = "") -> tuple[Database, str]:
    """The bench database and its schema; with `keep`, one per data size kept between runs (SQLite: a file in the
    temp folder)."""
    if url is None:
        path = Path(tempfile.gettempdir()) / f"inbox_bench_{size}.sqlite3" if keep else folder / "inbox_bench.sqlite3"
        return Database(f"sqlite:///{path}"), ""
    schema = f"{SCHEMA}_{size}" if keep else SCHEMA
    admin = Database(url)
    with admin.engine.begin() as conn:
        if not keep:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    admin.dispose()
    return Database(url, connect_args={"options": f"-csearch_path={schema}"}), schema


def _reset(db: Database, schema: str) -> None:
    """Start a kept bench database afresh (a partial or different load)."""
    if schema:
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    else:
        Base.metadata.drop_all(db.engine)


def _organisation(db: Database, agencies: int) -> dict:
    """The demo organisation, the bundled models, and `agencies` more agencies to spread the rows over."""
    db.create_all()
    org._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with db.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
        bundled.deploy_bundled(session)
        for i in range(agencies):
            org.create_agency(session, f"AG{i:03d}", f"Agency {i}", approved_on=dt.date(2026, 1, 1), actor="bench")
    return _ids(db)


def _task_plan(rows: int, mine: int, ids: dict) -> list[dict]:
    """Who each task row belongs to: `mine` ready for the bench user (half assigned, half claimable), more of DSW,
    and the rest spread over the other agencies; about one in five ready, the others completed."""
    dsw, me, staff = ids["agencies"]["DSW"], ids["users"][BENCH_USER], ids["users"]["dsw.staff"]
    others = [a for code, a in ids["agencies"].items() if code not in ("DSW", "DOL")]
    plan = [{"agency": dsw, "role": "agency_admin", "assignee": me if i % 2 else None, "status": TaskStatus.READY,
             "starter": staff} for i in range(mine)]
    plan += [{"agency": dsw, "role": "unit_admin", "assignee": None, "status": TaskStatus.READY, "starter": staff}
             for _ in range(mine)]
    plan += [{"agency": dsw, "role": "agency_admin", "assignee": me, "status": TaskStatus.COMPLETED, "starter": staff}
             for _ in range(mine // 2)]
    rng = random.Random(7)
    while len(plan) < rows:
        ready = rng.random() < 0.2
        plan.append({"agency": rng.choice(others), "role": rng.choice(["agency_admin", "unit_admin", "agency_audit"]),
                     "assignee": None, "status": TaskStatus.READY if ready else TaskStatus.COMPLETED, "starter": None})
    return plan


def _insert(db: Database, table, rows: list[dict]) -> None:
    """Bulk-load rows with the table's secondary indexes dropped and rebuilt afterwards (one sort per index
    instead of a million b-tree inserts); PostgreSQL gets COPY with foreign-key triggers off for the load."""
    with db.engine.begin() as conn:
        for index in table.__table__.indexes:
            index.drop(conn)
        if db.engine.dialect.name == "postgresql":
            columns = list(rows[0])
            cursor = conn.connection.driver_connection.cursor()
            cursor.execute("SET LOCAL session_replication_role = replica")
            with cursor.copy(f"COPY {table.__tablename__} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([v.value if isinstance(v, enum.Enum) else v for v in row.values()])
        else:
            for start in range(0, len(rows), CHUNK):
                conn.execute(insert(table), rows[start:start + CHUNK])
        for index in table.__table__.indexes:
            index.create(conn)


def _fill(db: Database, rows: int, mine: int, ids: dict, per_instance: int = TASKS_PER_INSTANCE) -> None:
    """Insert the instances and task rows in bulk (plain SQL rows, as the runtime would have mirrored them)."""
    rng = random.Random(11)
    plan = _task_plan(rows, mine, ids)
    instances, tasks = [], []
    with db.sessions() as session:
        next_id = (session.scalar(select(func.max(ProcessInstance.id))) or 0) + 1
    for index, item in enumerate(plan):
        if index % per_instance == 0:
            version_id, process_id, deployment = rng.choice(ids["versions"])
            instance_id, instance_agency = next_id + len(instances), item["agency"]
            instances.append({"id": instance_id, "process_id": process_id, "process_version_id": version_id,
                              "version": deployment, "agency_id": item["agency"], "started_by_id": item["starter"],
                              "status": InstanceStatus.RUNNING, "started_at": NOW - dt.timedelta(days=40),
                              "updated_at": NOW, "state": b"", "lock_version": 0})
        created = NOW - dt.timedelta(minutes=rng.randrange(60 * 24 * 60))
        due = created + dt.timedelta(days=rng.randrange(1, 45)) if rng.random() < 0.8 else None
        done = item["status"] == TaskStatus.COMPLETED
        tasks.append({"instance_id": instance_id, "instance_agency_id": instance_agency,
                      "task_guid": f"{index:036d}", "process_id": process_id,
                      "name": f"step_{index % 7}", "title": f"步驟 {index % 7} Step {index % 7}", "lane": item["role"],
                      "role": item["role"], "agency_id": item["agency"], "assignee_id": item["assignee"],
                      "status": item["status"], "created_at": created, "due_at": due,
                      "completed_at": created + dt.timedelta(hours=5) if done else None,
                      "completed_by_id": item["assignee"] if done else None})
    _insert(db, ProcessInstance, instances)
    _insert(db, HumanTask, tasks)


def _backend_cpu_ms(pids: set[int]) -> float:
    """utime + stime of these PostgreSQL backends (same machine), in milliseconds."""
    return sum(process_cpu_seconds(pid) for pid in pids) * 1000


def _app(db: Database, folder: Path):
    from web import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE": db, "WTF_CSRF_ENABLED": False})
    app.config["BENCH_SAMPLES"] = []
    backends: set[int] = set()
    statements = [0]

    @event.listens_for(db.engine, "connect")
    def _backend(dbapi_connection, _record):
        if db.engine.dialect.name == "postgresql":
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends.add(cursor.fetchone()[0])

    @event.listens_for(db.engine, "before_cursor_execute")
    def _count(*_args):
        statements[0] += 1

    db.engine.dispose()  # so every connection the app uses comes through the "connect" hook above

    @app.before_request
    def _start():
        g.bench = (time.perf_counter(), time.process_time(), _backend_cpu_ms(backends), statements[0])

    @app.after_request
    def _stop(response):
        wall, cpu, server, count = g.bench
        app.config["BENCH_SAMPLES"].append(((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000,
                                            _backend_cpu_ms(backends) - server, statements[0] - count))
        return response

    return app


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def measure(db: Database, user_id: int, repeat: int, folder: Path, paths=PAGES) -> dict[str, tuple]:
    """Per view: median and p95 of server wall ms, app-process CPU ms and PostgreSQL backend CPU ms, statements
    per request, n. Backend CPU is read from /proc at clock-tick resolution (10 ms), so its median is coarse."""
    app = _app(db, folder)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    results = {}
    for path in paths:
        for _ in range(3):  # warm up caches and connections
            assert client.get(path).status_code == 200
        app.config["BENCH_SAMPLES"].clear()
        for _ in range(repeat):
            client.get(path)
        samples = app.config["BENCH_SAMPLES"]
        columns = list(zip(*samples, strict=True))
        results[path] = (statistics.median(columns[0]), _p95(columns[0]), statistics.median(columns[1]),
                         _p95(columns[1]), statistics.mean(columns[2]), _p95(columns[2]), max(columns[3]),
                         len(samples))
    return results


def _loaded(db: Database, rows: int) -> bool:
    """Whether a kept bench database already holds this many task rows (then its indexes are brought up to date)."""
    try:
        with db.sessions() as session:
            total = session.scalar(select(func.count()).select_from(HumanTask))
    except Exception:  # noqa: BLE001  (no tables yet)
        return False
    if total != rows:
        return False
    with db.engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            for index in table.indexes:
                if not _index_exists(conn, index.name):
                    index.create(conn)
    return True


def _index_exists(conn, name: str) -> bool:
    """By name (SQLAlchemy's own check cannot see an expression index on SQLite, ix_human_task_due_order)."""
    if conn.dialect.name == "sqlite":
        found = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :n"
    else:
        found = "SELECT 1 FROM pg_indexes WHERE indexname = :n AND schemaname = current_schema()"
    return conn.execute(text(found), {"n": name}).first() is not None


def _ids(db: Database) -> dict:
    with db.sessions() as session:
        versions = [tuple(row) for row in session.execute(select(ProcessVersion.id, ProcessVersion.process_id,
                                                                    ProcessVersion.deployment_id))]
        codes = {code: i for code, i in session.execute(select(Agency.code, Agency.id))}
        people = {name: i for name, i in session.execute(select(User.username, User.id))}
    return {"versions": versions, "agencies": codes, "users": people}


def run(url: str | None, rows: int, mine: int, repeat: int, per_instance: int = TASKS_PER_INSTANCE,
        paths=PAGES, keep: bool = False) -> dict[str, tuple]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db, schema = _database(url, folder, keep, f"{rows}_{per_instance}")
        started = time.perf_counter()
        if keep and _loaded(db, rows):
            ids = _ids(db)
        else:
            if keep:
                _reset(db, schema)
            ids = _organisation(db, agencies=97)
            _fill(db, rows, mine, ids, per_instance)
            if url:  # a live database is vacuumed and analysed by autovacuum; do it now after the bulk load
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
        with db.sessions() as session:
            total = session.scalar(select(func.count()).select_from(HumanTask))
            instances = session.scalar(select(func.count()).select_from(ProcessInstance))
        print(f"{db.engine.dialect.name}: {instances:,} instances, {total:,} task rows ready in "
              f"{time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")
        print("| database | page | n | wall median ms | wall p95 ms | app CPU median ms | app CPU p95 ms | "
              "PG backend CPU mean ms | PG backend CPU p95 ms | statements | load |")
        results = measure(db, ids["users"][BENCH_USER], repeat, folder, paths)
        for path, (median, p95, cpu, cpu95, server, server95, count, n) in results.items():
            print(f"| {db.engine.dialect.name} | `{path}` | {n} | {median:.1f} | {p95:.1f} | {cpu:.1f} | {cpu95:.1f} | "
                  f"{server:.1f} | {server95:.0f} | {count} | {os.getloadavg()[0]:.1f} |", flush=True)
        if url and not keep:
            with db.engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        db.dispose()
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--mine", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--per-instance", type=int, default=TASKS_PER_INSTANCE,
                        help="task rows per instance (10 gives 100,000 instances for 1,000,000 rows)")
    parser.add_argument("--paths", choices=sorted(PATHS), default="inbox", help="inbox pages, API lists or both")
    parser.add_argument("--pg", help="a PostgreSQL URL (the `postgres` database, not `test`)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true",
                        help="keep the loaded data (PostgreSQL: the schema; SQLite: a file in the temp folder) and "
                             "reuse it on the next run with the same --rows and --per-instance")
    args = parser.parse_args()
    if not args.no_sqlite:
        run(None, args.rows, args.mine, args.repeat, args.per_instance, PATHS[args.paths], args.keep)
    if args.pg:
        run(args.pg, args.rows, args.mine, args.repeat, args.per_instance, PATHS[args.paths], args.keep)


if __name__ == "__main__":
    main()
