"""HTTP load benchmark: `webir serve` (gunicorn, several workers) on PostgreSQL, N concurrent API clients each
doing the inbox/complete loop of a user_account_application, and how fast the servers start.

Run: `.venv/bin/python -m bench http --pg URL [--workers 4] [--clients 8] [--seconds 30]`
(URL: a PostgreSQL database of its own, e.g. .../bench_http: its public schema is dropped and recreated).

One loop (a whole application, 7 requests): the applicant starts it (POST /process-instances) and completes
Form 1-2 (POST /tasks/{id}/complete); the unit supervisor reads their inbox (GET /tasks) and confirms the business
need; the agency admin reads their inbox and grants. Each client is a thread with its own bearer tokens; the
clients run in a separate load-generator process (`--client-processes`), so they share the machine's cores
with the servers, as they would on one 2-core box. Reported: completions per second (task completions, the
issue's measure), requests per second, p50/p95/p99 per request kind, errors, the load average at start and end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent
FORM = {"unit": "社會救助科", "job_title": "社工員", "employment_type": "civil_servant", "egov_account": "bench01",
        "purpose": "查核資格", "business_items": ["social_assistance"], "legal_basis": "社會救助法第 5 條",
        "requested_role": "user", "application_date": "2026-11-29"}
CONFIRM = {"unit_decision": "confirm", "business_need_confirmed": True}
GRANT = {"purpose_checked": True, "legal_basis_checked": True, "within_business_scope": True, "decision": "grant"}
STEP_USER = {"fill_form_1_2": "staff", "confirm_business_need": "unit", "review_application": "admin"}
STEP_DATA = {"fill_form_1_2": FORM, "confirm_business_need": CONFIRM, "review_application": GRANT}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, path: str, deadline_s: float = 60.0) -> float:
    """Seconds until GET path answers 200 (polled every 20 ms)."""
    started = time.perf_counter()
    while time.perf_counter() - started < deadline_s:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"server on port {port} not ready after {deadline_s} s")


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group (a server and its
    workers): the start-up cost without the waiting a busy machine adds to the wall time."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # after the name: state, ppid, pgrp, ...; utime and stime are the 12th and 13th
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def prepare(url: str) -> dict[str, str]:
    """A fresh schema with the demo organisation and the bundled models; bearer tokens of the three actors."""
    from bench.common import fresh_schema
    from engine.db import Database
    from workflows import bundled, demo, org

    db = Database(url)
    fresh_schema(db)
    with db.transaction() as session:
        import datetime as dt

        demo.load_demo(session, dt.date(2026, 1, 1))
        bundled.deploy_bundled(session)
        tokens = {role: org.issue_token(session, name, actor="bench")
                  for role, name in (("staff", "dsw.staff"), ("unit", "dsw.unit"), ("admin", "dsw.admin"))}
    db.dispose()
    return tokens


def code_env(**settings: str) -> dict:
    """The environment of a `webir` child: this checkout's code first (the console script of a shared or editable
    install could import another checkout's packages), the given settings, no job broker."""
    env = {**os.environ, **settings}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.pop("WEBIR_JOB_BROKER", None)
    return env


def start_server(env: dict, workers: int, port: int) -> subprocess.Popen:
    webir = str(Path(sys.executable).with_name("webir"))
    return subprocess.Popen([webir, "serve", "--workers", str(workers), "--port", str(port)], env=env, cwd=REPO,  # noqa: S603
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


class Client:
    """One simulated person-set (applicant, unit supervisor, admin) looping over applications."""

    def __init__(self, port: int, tokens: dict[str, str], keep_alive: bool = False):
        self.port, self.tokens, self.keep_alive = port, tokens, keep_alive
        self.samples: dict[str, list[float]] = {"start": [], "complete": [], "inbox": []}
        self.errors: dict[str, int] = {}
        self.loops = 0
        self.conn: http.client.HTTPConnection | None = None

    def call(self, kind: str, who: str, method: str, path: str, body: dict | None = None):
        headers = {"Authorization": f"Bearer {self.tokens[who]}", "Content-Type": "application/json"}
        payload = json.dumps(body).encode() if body is not None else None
        started = time.perf_counter()
        # keep_alive: one HTTP/1.1 connection per client, as an API client library keeps (it reconnects by itself
        # when the server answered `Connection: close`, as gunicorn's sync workers always do)
        conn = self.conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except BaseException:
            conn.close()
            self.conn = None
            raise
        if self.keep_alive:
            self.conn = conn
        else:
            conn.close()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status >= 400:
            key = f"{kind} {response.status}"
            self.errors[key] = self.errors.get(key, 0) + 1
            return None
        self.samples[kind].append(elapsed)
        return json.loads(data)

    def one_application(self) -> None:
        started = self.call("start", "staff", "POST", "/api/v1/process-instances",
                            {"process_id": "user_account_application"})
        ready = started["ready_tasks"] if started else []
        while ready:
            task = ready[0]
            who = STEP_USER.get(task["name"])
            if who is None:
                return
            if who != "staff":
                self.call("inbox", who, "GET", "/api/v1/tasks?scope=mine&per_page=20")
            answer = self.call("complete", who, "POST", f"/api/v1/tasks/{task['id']}/complete",
                               {"data": STEP_DATA[task["name"]]})
            ready = answer["instance"]["ready_tasks"] if answer else []
        self.loops += 1

    def run(self, until: float) -> None:
        while time.perf_counter() < until:
            try:
                self.one_application()
            except (OSError, http.client.HTTPException) as exc:
                key = f"connection {type(exc).__name__}"
                self.errors[key] = self.errors.get(key, 0) + 1


def _load_process(port: int, tokens: dict, clients: int, warmup: float, seconds: float, out,
                  keep_alive: bool = False) -> None:
    """A load-generator process: `clients` threads; sends back the measured window's samples."""
    begin = time.perf_counter() + warmup
    end = begin + seconds
    people = [Client(port, tokens, keep_alive) for _ in range(clients)]
    threads = [threading.Thread(target=p.run, args=(begin,)) for p in people]  # warm-up
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in people:
        p.samples = {k: [] for k in p.samples}
        p.errors, p.loops = {}, 0
    window_start = time.perf_counter()
    threads = [threading.Thread(target=p.run, args=(end,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    window = time.perf_counter() - window_start
    samples = {k: [s for p in people for s in p.samples[k]] for k in ("start", "complete", "inbox")}
    errors: dict[str, int] = {}
    for p in people:
        for key, n in p.errors.items():
            errors[key] = errors.get(key, 0) + n
    out.put({"samples": samples, "errors": errors, "loops": sum(p.loops for p in people), "window": window})


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))] if ordered else float("nan")


def load(port: int, tokens: dict, clients: int, processes: int, warmup: float, seconds: float,
         keep_alive: bool = False) -> dict:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [ctx.Process(target=_load_process, args=(port, tokens, n, warmup, seconds, out, keep_alive))
             for n in shares if n]
    for p in procs:
        p.start()
    parts = [out.get() for _ in procs]
    for p in procs:
        p.join()
    merged = {k: [s for part in parts for s in part["samples"][k]] for k in ("start", "complete", "inbox")}
    errors: dict[str, int] = {}
    for part in parts:
        for key, n in part["errors"].items():
            errors[key] = errors.get(key, 0) + n
    window = max(part["window"] for part in parts)
    return {"samples": merged, "errors": errors, "loops": sum(part["loops"] for part in parts), "window": window}


def report(result: dict, clients: int, workers: int, load_before: float) -> list[str]:
    samples, window = result["samples"], result["window"]
    every = [s for k in samples for s in samples[k]]
    completions = len(samples["complete"])
    lines = [f"{clients} clients, {workers} gunicorn workers, {window:.0f} s measured: "
             f"{completions / window:.1f} task completions/s, {len(every) / window:.1f} requests/s, "
             f"{result['loops'] / window:.1f} applications/s; errors: {result['errors'] or 'none'}; "
             f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after",
             "| request | n | per s | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|---|"]
    names = {"start": "POST /process-instances (start)", "complete": "POST /tasks/{id}/complete",
             "inbox": "GET /tasks (inbox)"}
    for kind in ("start", "complete", "inbox"):
        s = samples[kind]
        if s:
            lines.append(f"| {names[kind]} | {len(s)} | {len(s) / window:.1f} | {statistics.median(s):.1f} | "
                         f"{percentile(s, 0.95):.1f} | {percentile(s, 0.99):.1f} |")
    lines.append(f"| all | {len(every)} | {len(every) / window:.1f} | {statistics.median(every):.1f} | "
                 f"{percentile(every, 0.95):.1f} | {percentile(every, 0.99):.1f} |")
    return lines


def _startup_row(name: str, repeat: int, start) -> str:
    """Wall seconds from the command to the first 200 of /login, and the CPU seconds the server's processes used
    by then (on a busy machine the wall time is mostly waiting for a core)."""
    times, cpu = [], []
    for _ in range(repeat):
        port = free_port()
        started = time.perf_counter()
        process = start(port)
        try:
            wait_ready(port, "/login")
            times.append(time.perf_counter() - started)
            cpu.append(group_cpu_seconds(process.pid))
        finally:
            stop(process)
    return (f"| {name} | {repeat} | {statistics.median(times):.2f} | {max(times):.2f} | {statistics.median(cpu):.2f} "
            f"| {os.getloadavg()[0]:.1f} |")


def startup_times(pg_url: str, models: int, repeat: int) -> list[str]:
    """`webir run` (embedded SQLite, scheduler included) with `models` deployed process versions, and `webir serve`
    (gunicorn, 4 workers, PostgreSQL): seconds from the command to the first 200 of /login."""
    from sqlalchemy import func, select

    from engine.db import Database
    from engine.models import ProcessVersion

    webir = str(Path(sys.executable).with_name("webir"))
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        env = code_env(WEBIR_INSTANCE_PATH=folder, WEBIR_SECRET_KEY="bench")  # noqa: S106
        env.pop("WEBIR_DATABASE_URL", None)
        subprocess.run([webir, "init-db", "--demo"], env=env, check=True, capture_output=True)  # noqa: S603
        bundled_files = sorted((REPO / "bpmn").glob("*.bpmn"))
        db = Database(f"sqlite:///{folder}/webir.sqlite3")
        for path in bundled_files:  # more versions of the bundled models until there are `models`
            with db.sessions() as session:
                if session.scalar(select(func.count()).select_from(ProcessVersion)) >= models:
                    break
            subprocess.run([webir, "deploy", str(path)], env=env, check=True, capture_output=True)  # noqa: S603
        with db.sessions() as session:
            deployed = session.scalar(select(func.count()).select_from(ProcessVersion))
        db.dispose()
        lines.append(_startup_row(f"`webir run` (SQLite, scheduler, {deployed} process versions)", repeat,
                                  lambda port: subprocess.Popen(  # noqa: S603
                                      [webir, "run", "--port", str(port)], env=env, cwd=REPO,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)))
    env = code_env(WEBIR_DATABASE_URL=pg_url, WEBIR_SECRET_KEY="bench",  # noqa: S106
                   WEBIR_INSTANCE_PATH=tempfile.mkdtemp(prefix="webir-http-bench-"))
    lines.append(_startup_row("`webir serve --workers 4` (gunicorn, preloaded app, PostgreSQL)", repeat,
                              lambda port: start_server(env, 4, port)))
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench http", description=__doc__.splitlines()[0])
    parser.add_argument("--pg", required=True, help="PostgreSQL URL of a database for the benchmark only")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, nargs="+", default=[8], help="one run per number of clients")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--startup", type=int, default=3, help="startup measurements per server (0: none)")
    parser.add_argument("--models", type=int, default=20, help="deployed process versions for the startup run")
    parser.add_argument("--keep-alive", action="store_true", help="each client keeps its HTTP connection open")
    parser.add_argument("--gunicorn-args", default="", help="extra gunicorn options for the measured server "
                        "(GUNICORN_CMD_ARGS), e.g. '--worker-class gthread --threads 1 --keep-alive 5'")
    args = parser.parse_args(argv)
    print(f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M')}; "
          f"clients {'keep their connection' if args.keep_alive else 'connect per request'}; gunicorn "
          f"{args.gunicorn_args or 'as web/gunicorn_conf.py'}")
    if args.startup:
        print("| server | runs | median s to first 200 | max s | CPU s used by then (median) | load avg |\n"
              "|---|---|---|---|---|---|")
        for line in startup_times(args.pg, args.models, args.startup):
            print(line, flush=True)
    tokens = prepare(args.pg)
    env = code_env(WEBIR_DATABASE_URL=args.pg, WEBIR_SECRET_KEY="bench",  # noqa: S106
                   WEBIR_INSTANCE_PATH=tempfile.mkdtemp(prefix="webir-http-bench-"))
    if args.gunicorn_args:
        env["GUNICORN_CMD_ARGS"] = args.gunicorn_args
    port = free_port()
    server = start_server(env, args.workers, port)
    try:
        wait_ready(port, "/api/v1/openapi.json")
        for clients in args.clients:
            before, cpu_before = os.getloadavg()[0], group_cpu_seconds(server.pid)
            result = load(port, tokens, clients, args.client_processes, args.warmup, args.seconds, args.keep_alive)
            server_cpu = group_cpu_seconds(server.pid) - cpu_before  # warm-up included: per request below
            requests = sum(len(v) for v in result["samples"].values()) * (args.seconds + args.warmup) / args.seconds
            print("\n".join(report(result, clients, args.workers, before)), flush=True)
            print(f"gunicorn CPU: {server_cpu / max(requests, 1) * 1000:.1f} ms per request (PostgreSQL's own CPU "
                  f"not included), i.e. at most {os.cpu_count() / max(server_cpu / max(requests, 1), 1e-9):.0f} "
                  f"requests/s if the web workers had every core", flush=True)
    finally:
        stop(server)


if __name__ == "__main__":
    main()
