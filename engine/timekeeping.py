"""Everything that falls due with time: BPMN timers, period openings, escalations; and moving the clock.

Used by the scheduler (at real time) and by `clock advance` (simulated time: each due item fires at its own
due time, in time order).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from engine import audit, clock, messages, obligations, runtime
from engine.db import Database
from engine.models import InstanceStatus, ProcessInstance
from engine.simulated_clock import ClockMovedBackwards, SimulatedClock

# Instances the scheduler wakes: finished ones never, errored ones only after a person retries them.
SLEEPING = (InstanceStatus.RUNNING, InstanceStatus.WAITING)
MAX_STEPS = 100_000
TICK = dt.timedelta(milliseconds=1)


@dataclass
class WorkDone:
    timers_fired: int = 0
    periods_opened: int = 0
    escalations: int = 0

    def add(self, other: WorkDone) -> None:
        self.timers_fired += other.timers_fired
        self.periods_opened += other.periods_opened
        self.escalations += other.escalations


def due_instance_ids(db: Database, now: dt.datetime, limit: int = 1000) -> list[int]:
    """Instances whose next timer is due, earliest first."""
    with db.sessions() as session:
        return list(session.scalars(
            select(ProcessInstance.id).where(ProcessInstance.next_due_at <= now,
                                             ProcessInstance.status.in_(SLEEPING))
            .order_by(ProcessInstance.next_due_at, ProcessInstance.id).limit(limit)))


def next_timer_at(db: Database) -> dt.datetime | None:
    with db.sessions() as session:
        return session.scalar(select(func.min(ProcessInstance.next_due_at))
                              .where(ProcessInstance.status.in_(SLEEPING)))


def fire_due_timers(db: Database) -> int:
    """Fire every timer due now (each under its instance lock, so a duplicate fire is a no-op)."""
    fired = 0
    while ids := due_instance_ids(db, clock.now()):
        results = [runtime.fire_timers(db, iid) for iid in ids]
        fired += sum(results)
        if not any(results):
            break
    return fired


def run_due_work(db: Database, fire_timers: bool = True) -> WorkDone:
    """Do everything due at the clock's current time (`fire_timers=False`: all but the timers, which the caller
    has handed to background jobs)."""
    opened = obligations.open_due_periods(db)
    fired = fire_due_timers(db) if fire_timers else 0
    escalated = obligations.escalate_late_periods(db)
    messages.deliver_pending(db)  # retry messages nobody could take before (e.g. a receiver deployed since)
    return WorkDone(fired, opened, escalated)


def advance_to(db: Database, target: dt.datetime, actor: str | None = None) -> WorkDone:
    """Move the simulated clock to `target`, stopping at each due moment on the way to fire what is due."""
    sim = clock.current()
    if not isinstance(sim, SimulatedClock):
        raise ClockMovedBackwards("the clock can only be moved when WEBIR_CLOCK=simulated")
    if target < sim.now():
        raise ClockMovedBackwards(f"the simulated clock only moves forward: it is {sim.now().isoformat()}")
    with db.transaction() as session:  # who moved time, from when to when: part of the record
        audit.record(session, "clock_moved", actor, started_from=sim.now().isoformat(), to=target.isoformat())
    done = run_due_work(db)
    for _ in range(MAX_STEPS):
        moments = [t for t in (next_timer_at(db), obligations.next_event_at(db, target)) if t and t <= target]
        if not moments or min(moments) <= sim.now():
            break
        # Just past the due moment: SpiffWorkflow fires a timer only once its time is strictly in the past.
        sim.set(min(moments) + TICK)
        done.add(run_due_work(db))
    sim.set(target)
    done.add(run_due_work(db))
    return done
