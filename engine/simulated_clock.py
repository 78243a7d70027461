"""A persisted clock that moves only when told (`webir clock set|advance`, `POST /api/v1/clock`).

Every process (web workers, scheduler, CLI) reads the same row, so they all agree on the time. Until it is
first set, it reads the real time of its first use and keeps it.
"""

from __future__ import annotations

import datetime as dt
import os

from sqlalchemy.exc import IntegrityError

from engine import clock
from engine.db import Database
from engine.models import SimulatedClockState

ROW_ID = 1


class ClockMovedBackwards(ValueError):
    """The simulated clock only moves forward."""


class SimulatedClock:
    """Clock reading the simulated_clock row."""

    simulated = True

    def __init__(self, db: Database):
        self.db = db

    def now(self) -> dt.datetime:
        with self.db.sessions() as session:
            row = session.get(SimulatedClockState, ROW_ID)
            if row is not None:
                return row.now
        return self._first_use()

    def _first_use(self) -> dt.datetime:
        real = dt.datetime.now(dt.UTC)
        try:
            with self.db.transaction() as session:
                session.add(SimulatedClockState(id=ROW_ID, now=real, updated_at=real))
        except IntegrityError:  # another process started it first: take its time
            return self.now()
        return real

    def set(self, when: dt.datetime) -> None:
        """Move to `when` (forward only); callers fire what falls due on the way (engine.timekeeping)."""
        if when.tzinfo is None:
            raise ValueError("the time must carry a UTC offset, e.g. 2027-01-01T00:00:00+08:00")
        current = self.now()
        if when < current:
            raise ClockMovedBackwards(f"the simulated clock only moves forward: it is {current.isoformat()}, "
                                      f"asked for {when.isoformat()}")
        with self.db.transaction() as session:
            row = session.get(SimulatedClockState, ROW_ID)
            row.now, row.updated_at = when, dt.datetime.now(dt.UTC)


def configure(db: Database, mode: str | None = None) -> None:
    """Install the clock WEBIR_CLOCK asks for (`system` or `simulated`)."""
    mode = (mode or os.environ.get("WEBIR_CLOCK", "system")).strip().lower()
    if mode == "simulated":
        simulated = SimulatedClock(db)
        simulated.now()  # start it now, outside any transaction (a first read inside one would wait on itself)
        clock.install(simulated)
    elif mode == "system":
        clock.install(clock.SystemClock())
    else:
        raise ValueError(f"WEBIR_CLOCK must be 'system' or 'simulated', not {mode!r}")
