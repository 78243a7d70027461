"""The engine's notion of now: the system clock, or a persisted simulated clock moved only when told.

SpiffWorkflow's timer events read `datetime.now()` themselves; `install()` points them at this clock so a
simulated clock also drives BPMN timers, and reads naive timeDate values in the configured time zone
(Asia/Taipei) instead of the server's local zone.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import os
import re
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+)S)?)?$"
)


def zone() -> ZoneInfo:
    """The calendar's time zone (WEBIR_TIMEZONE, default Asia/Taipei)."""
    return ZoneInfo(os.environ.get("WEBIR_TIMEZONE", "Asia/Taipei"))


class SystemClock:
    """Real time."""

    simulated = False

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


_clock = SystemClock()
# A clock for the current thread/context only (a modeler test run's sandbox), over the installed one.
_local_clock: contextvars.ContextVar = contextvars.ContextVar("webir_local_clock", default=None)


# Inside one_reading(): the time first read there, for every later read (a list: empty until the first read).
_reading: contextvars.ContextVar = contextvars.ContextVar("webir_clock_reading", default=None)


def now() -> dt.datetime:
    """Current time, timezone-aware UTC."""
    reading = _reading.get()
    if reading is None:
        return current().now()
    if not reading:
        reading.append(current().now())
    return reading[0]


@contextlib.contextmanager
def one_reading():
    """Read the clock once for everything inside: one engine pass judges all its timers at the same moment.

    The simulated clock reads a database row on each call; an instance with a timer per account (a password
    rotation of 140 accounts) asked it 270 times per task completion. Nested uses keep the outer reading.
    """
    if _reading.get() is not None:
        yield
        return
    token = _reading.set([])
    try:
        yield
    finally:
        _reading.reset(token)


def current():
    return _local_clock.get() or _clock


@contextlib.contextmanager
def using(clock):
    """Use this clock in the current context only (other threads and requests keep theirs)."""
    token = _local_clock.set(clock)
    try:
        yield clock
    finally:
        _local_clock.reset(token)


def install(clock) -> None:
    """Use this clock for the engine and for SpiffWorkflow's timers."""
    global _clock
    _clock = clock


class _ClockDatetime(dt.datetime):
    """What SpiffWorkflow's timer module sees as `datetime`: its now() is the engine's clock."""

    @classmethod
    def now(cls, tz=None):
        current_time = now()
        return current_time.astimezone(tz) if tz else current_time.astimezone(zone()).replace(tzinfo=None)


spiff_timer.datetime = _ClockDatetime
spiff_timer.LOCALTZ = zone()


def parse_duration(text: str) -> dt.timedelta:
    """An ISO 8601 duration of weeks, days and time (P5D, PT4H, P1DT12H); months and years are refused."""
    match = _DURATION.match((text or "").strip())
    if not match or text.strip() in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration of days/hours/minutes: {text!r}")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    return dt.timedelta(**parts)
