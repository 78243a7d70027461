"""Where the time of one REST task completion goes: the http benchmark's loop in-process (Flask test client, no
gunicorn, no network): first without a profiler, CPU ms and SQL statements per request kind; then under cProfile,
the top functions by cumulative time.

Run: `.venv/bin/python bench/http_profile.py --pg URL [--n 50]` (URL: a database of its own; dropped and recreated).
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402

from bench.common import process_cpu_seconds  # noqa: E402
from bench.http_bench import STEP_DATA, STEP_USER, prepare  # noqa: E402


def _backend_cpu(url: str, pid: int | None = None):
    """CPU seconds (from /proc) of one PostgreSQL backend, or {pid: seconds} of every backend on this database
    but the one asking (the app's pooled connections, which live through the run)."""
    if pid is not None:
        return process_cpu_seconds(pid)
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                               "AND pid <> pg_backend_pid()")]
    return {backend: process_cpu_seconds(backend) for backend in pids}


def _reads(client, headers: dict, statements: list[int], n: int = 300) -> None:
    """The per-request cost of authentication and a small answer: read endpoints alone, n requests x 3."""
    for path in ("/api/v1/me", "/api/v1/tasks?scope=mine&per_page=20", "/api/v1/process-instances/999999"):
        for _ in range(30):
            client.get(path, headers=headers)
        runs, before = [], statements[0]
        for _ in range(3):
            cpu = time.process_time()
            for _ in range(n):
                client.get(path, headers=headers)
            runs.append((time.process_time() - cpu) * 1000 / n)
        print(f"  GET {path:<40} CPU ms/request min {min(runs):.2f} median {sorted(runs)[1]:.2f}  "
              f"{(statements[0] - before) / (3 * n):.1f} statements/request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", required=True)
    parser.add_argument("--n", type=int, default=50, help="applications (3 completions each)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--dump", help="also write the cProfile statistics to this file (pstats format)")
    args = parser.parse_args()
    tokens = prepare(args.pg)
    os.environ.setdefault("WEBIR_INSTANCE_PATH", tempfile.mkdtemp(prefix="webir-http-profile-"))
    from engine.db import Database
    from web import create_app

    app = create_app({"SECRET_KEY": "bench", "DATABASE": Database(args.pg)})
    client = app.test_client()
    auth = {who: {"Authorization": f"Bearer {token}"} for who, token in tokens.items()}
    statements = [0]
    event.listen(app.extensions["webir_db"].engine, "before_cursor_execute",
                 lambda *_: statements.__setitem__(0, statements[0] + 1))
    tally: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0])  # requests, CPU s, statements

    def timed(kind: str, call):
        before, cpu = statements[0], time.process_time()
        answer = call()
        row = tally[kind]
        row[0], row[1], row[2] = row[0] + 1, row[1] + time.process_time() - cpu, row[2] + statements[0] - before
        return answer

    def application() -> int:
        answer = timed("start", lambda: client.post(
            "/api/v1/process-instances", json={"process_id": "user_account_application"}, headers=auth["staff"]))
        ready, done = answer.get_json()["ready_tasks"], 0
        while ready:
            task = ready[0]
            who = STEP_USER[task["name"]]
            if who != "staff":
                timed("inbox", lambda who=who: client.get("/api/v1/tasks?scope=mine&per_page=20", headers=auth[who]))
            reply = timed(f"complete {task['name']}", lambda task=task, who=who: client.post(
                f"/api/v1/tasks/{task['id']}/complete", json={"data": STEP_DATA[task["name"]]}, headers=auth[who]))
            assert reply.status_code == 200, reply.get_json()
            ready, done = reply.get_json()["instance"]["ready_tasks"], done + 1
        return done

    for _ in range(5):  # warm caches and the connection pool
        application()
    tally.clear()
    backends = _backend_cpu(args.pg)
    for _ in range(args.n):
        application()
    backends = sum(_backend_cpu(args.pg, pid) - cpu for pid, cpu in backends.items())
    print(f"without a profiler, {args.n} applications (load average {os.getloadavg()[0]:.1f}):")
    for kind, (count, cpu_s, stmts) in tally.items():
        print(f"  {kind:<35} {count:>4} requests  client+app CPU {cpu_s * 1000 / count:6.1f} ms/request  "
              f"{stmts / count:5.1f} statements/request")
    count = sum(row[0] for row in tally.values())
    print(f"  PostgreSQL backends of the app's connections: {backends * 1000 / count:.1f} ms CPU per request")
    _reads(client, auth["unit"], statements)
    profile = cProfile.Profile()
    cpu, wall = time.process_time(), time.perf_counter()
    profile.enable()
    completions = sum(application() for _ in range(args.n))
    profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    requests = args.n * 6  # start + 3 completions + 2 inbox reads
    print(f"{args.n} applications, {completions} completions, {requests} requests in-process: "
          f"client+app CPU {cpu * 1000 / requests:.1f} ms per request, wall {wall * 1000 / requests:.1f} ms "
          f"(the rest is PostgreSQL's time); load average {os.getloadavg()[0]:.1f}")
    if args.dump:
        profile.dump_stats(args.dump)
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
