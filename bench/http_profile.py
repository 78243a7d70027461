"""Where the time of one REST task completion goes: the http benchmark's loop in-process (Flask test client, no
gunicorn, no network) under cProfile, CPU time per request and the top functions by cumulative time.

Run: `.venv/bin/python bench/http_profile.py --pg URL [--n 50]` (URL: a database of its own; dropped and recreated).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.http_bench import STEP_DATA, STEP_USER, prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", required=True)
    parser.add_argument("--n", type=int, default=50, help="applications (3 completions each)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    tokens = prepare(args.pg)
    os.environ.setdefault("WEBIR_INSTANCE_PATH", tempfile.mkdtemp(prefix="webir-http-profile-"))
    from engine.db import Database
    from web import create_app

    app = create_app({"SECRET_KEY": "bench", "DATABASE": Database(args.pg)})
    client = app.test_client()
    auth = {who: {"Authorization": f"Bearer {token}"} for who, token in tokens.items()}

    def application() -> int:
        answer = client.post("/api/v1/process-instances", json={"process_id": "user_account_application"},
                             headers=auth["staff"]).get_json()
        ready, done = answer["ready_tasks"], 0
        while ready:
            task = ready[0]
            who = STEP_USER[task["name"]]
            if who != "staff":
                client.get("/api/v1/tasks?scope=mine&per_page=20", headers=auth[who])
            reply = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": STEP_DATA[task["name"]]},
                                headers=auth[who])
            assert reply.status_code == 200, reply.get_json()
            ready, done = reply.get_json()["instance"]["ready_tasks"], done + 1
        return done

    for _ in range(5):  # warm caches and the connection pool
        application()
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
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
