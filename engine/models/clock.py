"""Persisted state of the simulated clock and the scheduler's lease."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class SimulatedClockState(Base):
    """The simulated clock's current time (one row); it moves only when told."""

    __tablename__ = "simulated_clock"

    id: Mapped[int] = mapped_column(primary_key=True)
    now: Mapped[dt.datetime] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column()


class SchedulerLease(Base):
    """Which scheduler process is the one that fires timers, until when (renewed while it runs)."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[dt.datetime] = mapped_column()
