"""The one scheduler process: wakes each instance exactly at its timer's due time, opens periods, escalates.

APScheduler date jobs fire timers at their due time; a poll picks up new due times every second; a sweeper
catches anything overdue (after a restart, a crash, or a missed job). Only the holder of the database
lease acts, so a second scheduler started by mistake stands by; firing is idempotent under the instance lock
anyway. The simulated clock has no real due times: then only the sweeper runs, against simulated now.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from engine import clock, runtime, timekeeping
from engine.db import Database
from engine.models import ProcessInstance, SchedulerLease

log = logging.getLogger(__name__)
LEASE_NAME = "scheduler"
LEASE_SECONDS = 30
HORIZON = dt.timedelta(minutes=10)
BURST = 200  # overdue instances from which the sweep hands the firing to job workers, this many per job


class Scheduler:
    """Timers, period openings and escalations for one database."""

    def __init__(self, db: Database, poll_seconds: float = 1.0, sweep_seconds: float = 30.0, job_queue=None,
                 burst: int = BURST):
        self.db = db
        # With background-job workers (WEBIR_JOB_BROKER), a backlog of due timers is fired by them in batches.
        self.job_queue, self.burst = job_queue, burst
        self.burst_jobs: list[int] = []
        self.poll_seconds, self.sweep_seconds = poll_seconds, sweep_seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self.jobs: dict[int, dt.datetime] = {}
        self._lock = threading.Lock()
        self.aps = BackgroundScheduler(timezone=dt.UTC, job_defaults={
            "coalesce": True, "misfire_grace_time": None, "max_instances": 1})

    def start(self) -> None:
        self.aps.add_job(self.poll, "interval", seconds=self.poll_seconds, id="poll",
                         next_run_time=dt.datetime.now(dt.UTC))
        self.aps.add_job(self.sweep, "interval", seconds=self.sweep_seconds, id="sweep",
                         next_run_time=dt.datetime.now(dt.UTC))
        self.aps.start()

    def stop(self) -> None:
        self.aps.shutdown(wait=True)
        self.release()

    def is_leader(self) -> bool:
        """Take or renew the lease (one conditional UPDATE, atomic on both databases); False while another
        live scheduler holds it."""
        real_now = dt.datetime.now(dt.UTC)
        expires = real_now + dt.timedelta(seconds=LEASE_SECONDS)
        try:
            with self.db.transaction() as session:
                taken = session.execute(
                    update(SchedulerLease).where(SchedulerLease.name == LEASE_NAME, or_(
                        SchedulerLease.holder == self.holder, SchedulerLease.expires_at < real_now))
                    .values(holder=self.holder, expires_at=expires)).rowcount
                if taken:
                    return True
                if session.get(SchedulerLease, LEASE_NAME) is not None:
                    return False
                session.add(SchedulerLease(name=LEASE_NAME, holder=self.holder, expires_at=expires))
            return True
        except IntegrityError:  # another scheduler created the lease at the same moment
            return False

    def release(self) -> None:
        with self.db.transaction() as session:
            lease = session.get(SchedulerLease, LEASE_NAME)
            if lease is not None and lease.holder == self.holder:
                session.delete(lease)

    def poll(self) -> None:
        """Schedule a date job for every timer due within the horizon (real clock only)."""
        if not self.is_leader():
            return
        if clock.current().simulated:
            return
        limit = clock.now() + HORIZON
        with self.db.sessions() as session:
            upcoming = session.execute(select(ProcessInstance.id, ProcessInstance.next_due_at).where(
                ProcessInstance.next_due_at <= limit, ProcessInstance.status.in_(timekeeping.SLEEPING))).all()
        with self._lock:
            for instance_id, due in upcoming:
                if self.jobs.get(instance_id) != due:
                    self.jobs[instance_id] = due
                    self.aps.add_job(self.fire, DateTrigger(run_date=due), args=[instance_id],
                                     id=f"timer-{instance_id}", replace_existing=True)

    def fire(self, instance_id: int) -> None:
        try:
            runtime.fire_timers(self.db, instance_id)
        except Exception:  # noqa: BLE001 - one broken instance must not stop the others
            log.exception("firing the timer of instance %s failed", instance_id)
        finally:  # forgotten only now, so a poll during the firing does not schedule it again
            with self._lock:
                self.jobs.pop(instance_id, None)

    def sweep(self) -> None:
        """Catch up on everything overdue, open periods, escalate late ones."""
        if not self.is_leader():
            return
        try:
            handed_off = self.job_queue is not None and self._hand_off_backlog()
            done = timekeeping.run_due_work(self.db, fire_timers=not handed_off)
            if done.timers_fired or done.periods_opened or done.escalations:
                log.info("sweep: %s", done)
        except Exception:  # noqa: BLE001
            log.exception("sweep failed")

    def _hand_off_backlog(self) -> bool:
        """A backlog of at least `burst` overdue timers (after downtime) goes to the job workers, `burst` instances
        per job, so several workers fire it in parallel (each instance under its lock, so firing stays exactly
        once); True while those jobs work on it. A small backlog is fired here as before."""
        from engine import jobs

        self.burst_jobs = [j for j in self.burst_jobs if (view := jobs.get(self.db, j)) and not view.finished]
        if self.burst_jobs:
            return True
        due = timekeeping.due_instance_ids(self.db, clock.now(), limit=self.burst * 50)
        if len(due) < self.burst:
            return False
        for start in range(0, len(due), self.burst):
            self.burst_jobs.append(self.job_queue.submit("fire_due_timers",
                                                         {"instance_ids": due[start:start + self.burst]},
                                                         created_by="scheduler"))
        log.info("sweep: %d overdue instances handed to %d timer jobs", len(due), len(self.burst_jobs))
        return True
