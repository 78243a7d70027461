"""`webir scheduler`, `webir clock ...` and `webir obligations`: the compliance calendar from the shell."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading

import click
from sqlalchemy import select

from engine import calendar, clock, obligations, timekeeping
from engine.db import Database
from engine.models import Agency
from engine.scheduler import Scheduler
from engine.simulated_clock import ClockMovedBackwards, SimulatedClock


def _parsed(func, *args):
    try:
        return func(*args)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def simulated_clock_or_fail() -> SimulatedClock:
    current = clock.current()
    if not isinstance(current, SimulatedClock):
        raise click.ClickException("the clock can only be moved with WEBIR_CLOCK=simulated")
    return current


def register(main: click.Group, database, user_errors) -> None:
    """Add the calendar commands to the `webir` group."""

    @main.command("scheduler")
    def scheduler_command() -> None:
        """Run the one scheduler process (timers, period openings, escalations) until Ctrl-C."""
        run_scheduler(database())

    @main.group("clock")
    def clock_group() -> None:
        """The simulated clock (WEBIR_CLOCK=simulated)."""

    @clock_group.command("show")
    @user_errors
    def clock_show() -> None:
        """Print the engine's current time (Asia/Taipei) and which clock it is."""
        database()
        kind = "simulated" if clock.current().simulated else "system"
        click.echo(f"{clock.now().astimezone(clock.zone()).isoformat()} ({kind})")

    @clock_group.command("set")
    @click.argument("moment")
    @user_errors
    def clock_set(moment: str) -> None:
        """Move the simulated clock forward to MOMENT, firing everything due on the way."""
        db = database()
        simulated_clock_or_fail()
        _move(db, _parsed(calendar.parse_moment, moment))

    @clock_group.command("advance")
    @click.argument("duration")
    @user_errors
    def clock_advance(duration: str) -> None:
        """Advance the simulated clock by DURATION (P1M, P10D, PT2H), firing everything due on the way."""
        db = database()
        simulated_clock_or_fail()
        _move(db, _parsed(calendar.add_iso_duration, clock.now(), duration))

    @main.command("obligations")
    @click.option("--agency", "agency_code", default=None)
    @click.option("--year", type=int, default=None)
    @user_errors
    def obligations_command(agency_code: str | None, year: int | None) -> None:
        """The compliance calendar: one line per obligation period with its status."""
        db = database()
        with db.sessions() as session:
            query = select(Agency).order_by(Agency.code)
            if agency_code:
                query = query.where(Agency.code == agency_code.upper())
            agencies = list(session.scalars(query))
            if agency_code and not agencies:
                raise click.ClickException(f"agency '{agency_code}' does not exist")
            rows = [obligations.period_dict(s) for s in obligations.period_statuses(session, agencies, year)]
        for r in rows:
            click.echo(f"{r['agency']:<6} {r['obligation']:<28} {r['period']:<11} opens {r['opens_at'][:10]} "
                       f"due {r['due_at'][:10]} {r['status']:<9} {r['instance_id'] or ''}".rstrip())


def _move(db: Database, target: dt.datetime) -> None:
    try:
        done = timekeeping.advance_to(db, target, actor="cli")
    except ClockMovedBackwards as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"clock now {clock.now().astimezone(clock.zone()).isoformat()}: {done.timers_fired} timers fired, "
               f"{done.periods_opened} periods opened, {done.escalations} escalations")


def run_scheduler(db: Database) -> None:
    """Run the scheduler in this process until SIGINT/SIGTERM."""
    from engine.jobs import queue_from_env

    # With WEBIR_JOB_BROKER, a backlog of due timers is fired by the job workers (engine.scheduler)
    scheduler = Scheduler(db, job_queue=queue_from_env(db) if os.environ.get("WEBIR_JOB_BROKER") else None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler.start()
    click.echo("scheduler running (Ctrl-C stops)")
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.stop()
