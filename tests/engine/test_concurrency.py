"""Crash and concurrency safety: many requests on one task, exactly one wins; nothing half-written."""

from __future__ import annotations

import threading

from conftest import CONFIRM, FORM_1_2, GRANT
from sqlalchemy import func, select

from engine import audit, runtime
from engine.models import AuditEvent, HumanTask, InstanceStatus, ProcessInstance, RoleAssignment, TaskStatus

ATTEMPTS = 50


def _ready(db, iid) -> int:
    with db.sessions() as session:
        return session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                         HumanTask.status == TaskStatus.READY))


def test_fifty_concurrent_completions_of_one_task_one_wins_the_rest_409(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    runtime.complete_task(org_db, _ready(org_db, iid), users["dsw.staff"], FORM_1_2)
    runtime.complete_task(org_db, _ready(org_db, iid), users["dsw.unit"], CONFIRM)
    review = _ready(org_db, iid)
    outcomes: list[str] = []
    start = threading.Barrier(ATTEMPTS)

    def attempt(n: int) -> None:
        start.wait()
        try:
            runtime.complete_task(org_db, review, users["dsw.admin" if n % 2 else "dsw.admin2"], GRANT)
            outcomes.append("ok")
        except runtime.TaskNotReady:
            outcomes.append("409")
        except Exception as exc:  # noqa: BLE001 - anything else is a failure of this test, reported below
            outcomes.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(ATTEMPTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and outcomes.count("409") == ATTEMPTS - 1, outcomes
    with org_db.sessions() as session:
        assert session.get(ProcessInstance, iid).status == InstanceStatus.COMPLETED
        assert session.scalar(select(func.count()).select_from(RoleAssignment).where(
            RoleAssignment.user_id == users["dsw.staff"], RoleAssignment.role == "user")) == 1
        completions = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.instance_id == iid, AuditEvent.action == "task_completed"))
    assert completions == 3
    assert audit.verify(org_db).ok


def test_a_failing_step_leaves_no_half_written_state(org_db, users, monkeypatch):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    task = _ready(org_db, iid)
    with org_db.sessions() as session:
        before = (session.get(ProcessInstance, iid).state,
                  session.scalar(select(func.count()).select_from(AuditEvent)))

    def crash(*_args, **_kwargs):
        raise RuntimeError("power cut while saving")

    monkeypatch.setattr(runtime, "dump_state", crash)
    try:
        runtime.complete_task(org_db, task, users["dsw.staff"], FORM_1_2)
    except RuntimeError:
        pass
    with org_db.sessions() as session:
        after = (session.get(ProcessInstance, iid).state,
                 session.scalar(select(func.count()).select_from(AuditEvent)))
        assert session.get(HumanTask, task).status == TaskStatus.READY
    assert after == before
