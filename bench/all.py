"""`python -m bench all --pg URL`: issue 10's five measurements in one process run, side by side with their targets.

1. the limit: pure SpiffWorkflow restore -> complete -> run -> serialize for `user_account_application`;
2. the engine: the same completions through engine.runtime on SQLite and PostgreSQL (ratio to 1, same run);
3. HTTP: start + complete through the REST API under gunicorn (4 workers), concurrent clients, p50/p95/p99;
   and the start-up time of `webir run` with 20 deployed process versions;
4. the inbox, task list and instance list at 100,000 instances / 1,000,000 task rows (PostgreSQL);
5. the stored instance state per process after a simulated year.
Everything printed is also written, with the machine's description and a targets table, to `--out`
(default bench/last-run.md), to be copied into bench/results.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class _Tee(io.TextIOBase):
    """Prints live and keeps a copy for the report file."""

    def __init__(self, live):
        self.live, self.copy = live, io.StringIO()

    def write(self, text: str) -> int:
        self.live.write(text)
        self.copy.write(text)
        return len(text)

    def flush(self) -> None:
        self.live.flush()


def machine() -> str:
    """CPU model, cores, memory, versions, commit: what a reader needs to compare two runs."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,  # noqa: S607
                            text=True).stdout.strip() or "?"
    import SpiffWorkflow

    spiff = getattr(SpiffWorkflow, "__version__", "3.x")
    return (f"{cpu}, {os.cpu_count()} cores, {int(memory) / 1048576:.0f} GiB; Python {platform.python_version()}, "
            f"SpiffWorkflow {spiff}, SQLite {sqlite3.sqlite_version}; commit {commit}; "
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}; load average at the start {os.getloadavg()[0]:.1f}")


def _pg_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()


def limit_and_engine(pg: str, n: int) -> dict[str, float]:
    """Parts 1 and 2: median ms per completion of the limit and of the engine on both databases."""
    from bench.__main__ import print_side_by_side, side_by_side

    medians = print_side_by_side(side_by_side(n, pg))
    sys.stdout.flush()
    return medians


def http(pg: str, clients: list[int], seconds: float, startup: int) -> dict[str, float]:
    """Part 3: the best completions/s (and that run's completion p95) over the client counts; start-up."""
    from bench import http_bench as hb

    found = {}
    if startup:
        print("| server | runs | median s to first 200 | max s | CPU s used by then (median) | load avg |\n"
              "|---|---|---|---|---|---|")
        lines = hb.startup_times(pg, 20, startup)
        print("\n".join(lines), flush=True)
        found["startup"] = float(lines[0].split("|")[3])
    tokens = hb.prepare(pg)
    env = hb.code_env(WEBIR_DATABASE_URL=pg, WEBIR_SECRET_KEY="bench",  # noqa: S106
                      WEBIR_INSTANCE_PATH=tempfile.mkdtemp(prefix="webir-http-bench-"))
    port = hb.free_port()
    server = hb.start_server(env, 4, port)
    try:
        hb.wait_ready(port, "/api/v1/openapi.json")
        for n in clients:
            before = os.getloadavg()[0]
            result = hb.load(port, tokens, n, 2, 3, seconds)
            print("\n".join(hb.report(result, n, 4, before)), flush=True)
            rate = len(result["samples"]["complete"]) / result["window"]
            if rate > found.get("completions", -1):
                found["completions"] = rate
                found["complete_p95"] = hb.percentile(result["samples"]["complete"], 0.95)
    finally:
        hb.stop(server)
    return found


def inbox(pg: str, rows: int, repeat: int) -> dict[str, float]:
    """Part 4: p95 server ms of the inbox, the REST task list and the instance list at `rows` task rows."""
    from bench import inbox_bench

    results = inbox_bench.run(pg, rows, 5_000, repeat, 10, inbox_bench.PATHS["all"], keep=True)
    return {path: values[1] for path, values in results.items()}


def state_size(pg: str) -> int:
    """Part 5: the biggest stored instance state after the simulated year (bytes)."""
    from bench import state_size as ss

    return ss.main(["--pg", pg])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench all", description=__doc__.splitlines()[0])
    parser.add_argument("--pg", required=True, help="PostgreSQL URL of a database for benchmarks only (its tables "
                        "and schemas are dropped and recreated)")
    parser.add_argument("--n", type=int, default=200, help="applications per limit/engine measurement")
    parser.add_argument("--clients", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--seconds", type=float, default=20, help="HTTP load per client count")
    parser.add_argument("--startup", type=int, default=3, help="start-up measurements per server")
    parser.add_argument("--rows", type=int, default=1_000_000, help="task rows for the inbox (10 per instance)")
    parser.add_argument("--repeat", type=int, default=20, help="requests per page")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "last-run.md")
    args = parser.parse_args(argv)
    tee = _Tee(sys.stdout)
    started = time.perf_counter()
    with contextlib.redirect_stdout(tee):
        print(f"Machine: {machine()}; PostgreSQL {_pg_version(args.pg)} on the same machine.\n")
        print("### 1-2. The limit and the engine (median ms per task completion)")
        engine = limit_and_engine(args.pg, args.n)
        print("\n### 3. HTTP under gunicorn (4 sync workers, PostgreSQL) and start-up")
        web = http(args.pg, args.clients, args.seconds, args.startup)
        print(f"\n### 4. Inbox and lists at {args.rows:,} task rows / {args.rows // 10:,} instances (PostgreSQL)")
        lists = inbox(args.pg, args.rows, args.repeat)
        print("\n### 5. Stored instance state after a simulated year (PostgreSQL)")
        biggest = state_size(args.pg)
        worst_list = max(lists.items(), key=lambda item: item[1])
        rows = [
            ("engine completion / limit, SQLite", "<= 2x", f"{engine['sqlite'] / engine['limit']:.1f}x"),
            ("engine completion / limit, PostgreSQL", "<= 2x", f"{engine['postgresql'] / engine['limit']:.1f}x"),
            ("HTTP task completions/s (PostgreSQL)", ">= 300", f"{web['completions']:.0f}"),
            ("HTTP completion p95 ms at that rate", "< 50", f"{web['complete_p95']:.0f}"),
            (f"inbox `/` p95 ms at {args.rows:,} task rows", "< 50", f"{lists['/']:.0f}"),
            ("worst page or list p95 ms", "< 50", f"{worst_list[1]:.0f} (`{worst_list[0]}`)"),
            ("biggest instance state after the year", "<= 100 KB", f"{biggest / 1024:.1f} KB"),
        ]
        if "startup" in web:
            rows.append(("`webir run` ready, 20 versions", "< 3 s", f"{web['startup']:.2f} s"))
        print("\n### Targets of issue 10 (this run)\n| measure | target | measured | met |\n|---|---|---|---|")
        for name, target, value in rows:
            print(f"| {name} | {target} | {value} | {'yes' if _met(target, value) else 'no'} |")
        print(f"\nWhole run {time.perf_counter() - started:.0f} s; load average at the end {os.getloadavg()[0]:.1f}.")
    args.out.write_text(tee.copy.getvalue(), encoding="utf-8")
    print(f"written to {args.out}")


def _met(target: str, value: str) -> bool:
    """Compares a target like '<= 2x', '>= 300', '< 50', '<= 100 KB' with a measured value string."""
    op, bound = target.split()[0], float(target.split()[1].rstrip("x"))
    number = float(value.split()[0].rstrip("x"))
    return {"<": number < bound, "<=": number <= bound, ">=": number >= bound}[op]
