"""Benchmark: how exactly the scheduler fires timers on the real clock, and a burst of timers due at once.

Run: `.venv/bin/python bench/timer_bench.py [--latency 20] [--burst 10000] [--pg URL]`.
1. latency: N instances each waiting on a timer due ~2 s after it starts; the scheduler runs; we report
   how long after its due time each timer fired (audit event time - due time).
2. burst: N instances whose timers are all due at the same moment; we report the time until all fired and
   check each fired exactly once.
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

from sqlalchemy import func, select, text, update  # noqa: E402

import workflows  # noqa: E402, F401
from bench.common import fresh_schema  # noqa: E402
from engine import runtime  # noqa: E402
from engine.bundle import ModelFile  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import AuditEvent, ProcessInstance, User  # noqa: E402
from engine.scheduler import Scheduler  # noqa: E402
from engine.state import encode_state, state_text  # noqa: E402
from workflows import bundled, org  # noqa: E402

BPMN = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">
  <bpmn:process id="timer_bench" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>
      <bpmn:timeDate xsi:type="bpmn:tFormalExpression">fire_at</bpmn:timeDate>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def _prepare(db: Database) -> int:
    fresh_schema(db)
    with db.transaction() as session:
        org.create_agency(session, "DSW", "社會局", approved_on=None)
        org.create_user(session, "bench", "DSW", "bench-password")
        bundled.deploy_files(session, [ModelFile("timer_bench.bpmn", BPMN.encode())], "bench", "bench")
        return session.scalar(select(User.id).where(User.username == "bench"))


def _start(db: Database, user_id: int, fire_at: dt.datetime) -> int:
    return runtime.start_instance(db, "timer_bench", user_id, data={"fire_at": fire_at.isoformat()})


def _wait_all_done(db: Database, ids: list[int], timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with db.sessions() as session:
            left = session.scalar(select(func.count()).select_from(ProcessInstance).where(
                ProcessInstance.id.in_(ids), ProcessInstance.status != "completed"))
        if not left:
            return time.monotonic() - start
        time.sleep(0.05)
    raise SystemExit(f"timeout: {left} timers did not fire within {timeout}s")


def latency(db: Database, n: int) -> list[float]:
    user_id = _prepare(db)
    scheduler = Scheduler(db, poll_seconds=1.0)
    scheduler.start()
    try:
        ids, dues = [], {}
        for _ in range(n):
            due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
            iid = _start(db, user_id, due)
            ids.append(iid)
            dues[iid] = due
            time.sleep(0.25)
        _wait_all_done(db, ids, 30)
    finally:
        scheduler.stop()
    with db.sessions() as session:
        fired = dict(session.execute(select(AuditEvent.instance_id, AuditEvent.at).where(
            AuditEvent.action == "timer_fired")).all())
    return [(fired[i] - dues[i]).total_seconds() for i in ids]


def burst(db: Database, n: int) -> tuple[float, float, int]:
    user_id = _prepare(db)
    due = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    started = time.monotonic()
    ids = [_start(db, user_id, due) for _ in range(n)]
    create_seconds = time.monotonic() - started
    with db.engine.begin() as conn:  # make them all due now, at once
        conn.execute(text("UPDATE process_instance SET next_due_at = :now"), {"now": dt.datetime.now(dt.UTC)})
        # the workflow's own timer value must agree with the row (it is what SpiffWorkflow checks)
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    with db.engine.begin() as conn:
        for instance_id, state in conn.execute(select(ProcessInstance.id, ProcessInstance.state)).all():
            conn.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(
                state=encode_state(state_text(state).replace(due.isoformat(), past))))
    scheduler = Scheduler(db, poll_seconds=1.0, sweep_seconds=3600)
    scheduler.start()
    try:
        seconds = _wait_all_done(db, ids, 3600)
    finally:
        scheduler.stop()
    with db.sessions() as session:
        per_instance = session.execute(select(AuditEvent.instance_id, func.count()).where(
            AuditEvent.action == "timer_fired").group_by(AuditEvent.instance_id)).all()
    twice = sum(1 for _, c in per_instance if c != 1) + (n - len(per_instance))
    return create_seconds, seconds, twice


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=int, default=20)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--pg", default=None)
    args = parser.parse_args()
    targets = [("SQLite", lambda folder: Database(f"sqlite:///{folder}/timers.sqlite3"))]
    if args.pg:
        targets.append(("PostgreSQL", lambda _folder: Database(args.pg)))
    for name, make in targets:
        with tempfile.TemporaryDirectory() as folder:
            lags = sorted(latency(make(folder), args.latency))
            print(f"{name} latency after due (s): n={len(lags)} median={statistics.median(lags):.3f} "
                  f"max={lags[-1]:.3f} min={lags[0]:.3f}")
            created, seconds, wrong = burst(make(folder), args.burst)
            print(f"{name} burst: {args.burst} timers created in {created:.1f}s, all fired in {seconds:.1f}s "
                  f"({args.burst / seconds:.0f}/s); instances not fired exactly once: {wrong}")


if __name__ == "__main__":
    main()
