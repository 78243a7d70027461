"""BPMN timers fire at their own due time: intermediate and boundary timers, idempotent, never stranded."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func, select
from timer_models import DEADLINE, wait_then_task

from engine import runtime, timekeeping
from engine.bundle import ModelFile
from engine.models import AuditEvent, HumanTask, InstanceStatus, ProcessInstance, TaskStatus
from engine.scheduler import Scheduler
from workflows import bundled


def _deploy(db, duration="PT1H"):
    files = [ModelFile("wait.bpmn", wait_then_task(duration)),
             ModelFile("deadline.bpmn", DEADLINE.encode())]
    with db.transaction() as session:
        bundled.deploy_files(session, files, "t", "t")


def _instance(db, iid) -> ProcessInstance:
    with db.sessions() as session:
        return session.get(ProcessInstance, iid)


def _ready_names(db, iid) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(select(HumanTask.name).where(HumanTask.instance_id == iid,
                                                                 HumanTask.status == TaskStatus.READY)))


def _fired(db, iid) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.instance_id == iid, AuditEvent.action == "timer_fired"))


START = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)


def test_waiting_timer_due_time_is_stored_on_the_instance(org_db, users, sim_clock):
    sim_clock.set(START)
    _deploy(org_db)
    iid = runtime.start_instance(org_db, "wait_then_task", users["dsw.staff"])
    instance = _instance(org_db, iid)
    assert instance.status == InstanceStatus.WAITING
    assert instance.next_due_at == START + dt.timedelta(hours=1)


def test_advancing_the_clock_fires_the_timer_once_at_its_due_time(org_db, users, sim_clock):
    sim_clock.set(START)
    _deploy(org_db)
    iid = runtime.start_instance(org_db, "wait_then_task", users["dsw.staff"])
    timekeeping.advance_to(org_db, START + dt.timedelta(minutes=30))
    assert _ready_names(org_db, iid) == [] and _fired(org_db, iid) == 0
    timekeeping.advance_to(org_db, START + dt.timedelta(hours=5))
    assert _ready_names(org_db, iid) == ["after_wait"] and _fired(org_db, iid) == 1
    assert _instance(org_db, iid).next_due_at is None
    assert runtime.fire_timers(org_db, iid) is False  # a second fire (another scheduler) does nothing
    assert _fired(org_db, iid) == 1


def test_interrupting_boundary_timer_cancels_the_task_and_escalates(org_db, users, sim_clock):
    sim_clock.set(START)
    _deploy(org_db)
    iid = runtime.start_instance(org_db, "task_with_deadline", users["dsw.staff"])
    assert _ready_names(org_db, iid) == ["slow_task"]
    timekeeping.advance_to(org_db, START + dt.timedelta(days=3))
    assert _ready_names(org_db, iid) == ["escalated"]
    with org_db.sessions() as session:
        slow = session.scalar(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.name == "slow_task"))
    assert slow.status == TaskStatus.CANCELLED


def test_scheduler_down_while_timers_fall_due_fires_each_once_on_restart(org_db, users, sim_clock):
    sim_clock.set(START)
    _deploy(org_db)
    ids = [runtime.start_instance(org_db, "wait_then_task", users["dsw.staff"]) for _ in range(3)]
    sim_clock.set(START + dt.timedelta(days=10))  # time passes with no scheduler running
    scheduler = Scheduler(org_db)
    scheduler.sweep()  # what a restarted scheduler does first
    Scheduler(org_db).sweep()  # a second scheduler by mistake: it is not the leader, and nothing is due anyway
    scheduler.sweep()
    assert [_fired(org_db, i) for i in ids] == [1, 1, 1]
    assert all(_ready_names(org_db, i) == ["after_wait"] for i in ids)


def test_only_one_scheduler_holds_the_lease(org_db):
    first, second = Scheduler(org_db), Scheduler(org_db)
    assert first.is_leader() and not second.is_leader()
    first.release()
    assert second.is_leader()


def test_real_scheduler_fires_a_timer_due_in_one_second(org_db, users):
    _deploy(org_db, duration="PT1S")
    iid = runtime.start_instance(org_db, "wait_then_task", users["dsw.staff"])
    scheduler = Scheduler(org_db, poll_seconds=0.2, sweep_seconds=60)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _ready_names(org_db, iid):
            time.sleep(0.1)
    finally:
        scheduler.stop()
    assert _ready_names(org_db, iid) == ["after_wait"] and _fired(org_db, iid) == 1


def test_moving_the_simulated_clock_backwards_is_refused(org_db, sim_clock):
    sim_clock.set(START)
    from engine.simulated_clock import ClockMovedBackwards

    with pytest.raises(ClockMovedBackwards):
        timekeeping.advance_to(org_db, START - dt.timedelta(days=1))
