"""SIGKILL at random moments of a busy workload: nothing corrupted, nothing lost, nothing done twice."""

from __future__ import annotations

import collections
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import audit, clock, timekeeping
from engine.models import HumanTask, ObligationPeriod, ProcessInstance, ProcessVersion, TaskStatus
from engine.state import load_workflow

WORKLOAD = Path(__file__).resolve().parents[1] / "data" / "crash" / "workload.py"
KILLS = 6


def _check_consistency(db) -> int:
    """Every instance loads; its ready task rows are exactly its ready human tasks; no period twice."""
    checked = 0
    with db.sessions() as session:
        for instance in session.scalars(select(ProcessInstance)):
            version = session.get(ProcessVersion, instance.process_version_id)
            workflow = load_workflow(version, instance.state, None)
            ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
            rows = set(session.scalars(select(HumanTask.task_guid).where(
                HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.READY)))
            assert rows == ready, (instance.id, instance.process_id)
            checked += 1
        periods = [(p.obligation_id, p.agency_id, p.label) for p in session.scalars(select(ObligationPeriod))]
        assert len(periods) == len(set(periods))
        assert all(p.instance_id for p in session.scalars(select(ObligationPeriod)))
        heads = collections.Counter(session.scalars(select(HumanTask.instance_id).where(
            HumanTask.name == "head_follow_up")))
        assert all(n == 1 for n in heads.values())  # no escalation timer fired twice
    return checked


def test_sigkill_during_a_busy_workload_leaves_consistent_state(org_db, sim_clock):
    sim_clock.set(dt.datetime(2026, 2, 1, tzinfo=dt.UTC))  # demo agencies approved 2026-01-01
    rng = random.Random(20261129)
    url = org_db.engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for round_no in range(KILLS):
        worker = subprocess.Popen([sys.executable, str(WORKLOAD), url, str(round_no)], env=env,  # noqa: S603
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert worker.stdout.readline().strip() == "ready", worker.stderr.read()[-2000:]
        time.sleep(rng.uniform(0.8, 2.5))
        assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        _check_consistency(org_db)
    done = timekeeping.run_due_work(org_db)  # the restart: catch up on whatever was due
    assert _check_consistency(org_db) > 10
    with org_db.sessions() as session:
        overdue = session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.next_due_at <= clock.now(), ProcessInstance.status.in_(timekeeping.SLEEPING))).all()
    assert overdue == [] and done is not None  # no timer lost
    assert audit.verify(org_db).ok
