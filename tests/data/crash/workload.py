"""A scripted workload for the crash test: move the simulated clock a day at a time and complete tasks.

Run as a separate process (it gets SIGKILLed at random moments): `python workload.py DATABASE_URL SEED`.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "conformance")]

from robot_data import data_for  # noqa: E402
from sqlalchemy import select  # noqa: E402

import workflows  # noqa: E402, F401
from engine import clock, runtime, timekeeping  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import HumanTask, ProcessInstance, RoleAssignment, TaskStatus  # noqa: E402
from engine.simulated_clock import SimulatedClock  # noqa: E402
from engine.specs import load_form  # noqa: E402


def _holder(session, task: HumanTask) -> int | None:
    if task.assignee_id:
        return task.assignee_id
    role = "agency_admin" if task.role == "delegating_agency" else task.role
    return session.scalar(select(RoleAssignment.user_id).where(
        RoleAssignment.agency_id == task.agency_id, RoleAssignment.role == role,
        RoleAssignment.revoked_at.is_(None)).order_by(RoleAssignment.user_id))


def complete_some(db: Database, rng: random.Random) -> None:
    with db.sessions() as session:
        tasks = list(session.scalars(select(HumanTask).where(HumanTask.status == TaskStatus.READY)))
        rng.shuffle(tasks)
        work = []
        for task in tasks[:3]:
            instance = session.get(ProcessInstance, task.instance_id)
            work.append((task.id, _holder(session, task), data_for(load_form(session, instance.version,
                                                                              task.form_schema))))
    for task_id, user_id, data in work:
        if user_id is None:
            continue
        try:
            runtime.complete_task(db, task_id, user_id, data)
        except Exception:  # noqa: BLE001, S110 - the robot's data may not satisfy a rule; it moves on
            pass


def main() -> None:
    db = Database(sys.argv[1])
    rng = random.Random(int(sys.argv[2]))
    clock.install(SimulatedClock(db))
    print("ready", flush=True)  # imports done: from here on it is all work, so the kill lands in work
    while True:
        timekeeping.advance_to(db, clock.now() + dt.timedelta(days=rng.randint(1, 4)))
        complete_some(db, rng)


if __name__ == "__main__":
    main()
