"""Calendar arithmetic in the local time zone: periods, month offsets, due instants, working days.

Real calendar arithmetic (never `R/P3M`, which SpiffWorkflow turns into a fixed 92 days): months are
added on the calendar, a day past a short month's end is clamped to its last day (31 Jan + 1 month =
28/29 Feb).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools

import holidays

from engine import clock

CADENCES = ("monthly", "quarterly", "half_yearly", "yearly", "every_n_days")
_MONTHS_PER = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar month arithmetic, clamping to the target month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def period_start(cadence: str, day: dt.date) -> dt.date:
    """First day of the calendar period (month, quarter, half, year) containing `day`."""
    size = _MONTHS_PER[cadence]
    month = ((day.month - 1) // size) * size + 1
    return dt.date(day.year, month, 1)


def next_period_start(cadence: str, start: dt.date) -> dt.date:
    return add_months(start, _MONTHS_PER[cadence])


def period_label(cadence: str, start: dt.date) -> str:
    """`2027-03`, `2027-Q1`, `2027-H1`, `2027`, or the opening date for day-count cadences."""
    if cadence == "monthly":
        return f"{start.year}-{start.month:02d}"
    if cadence == "quarterly":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if cadence == "half_yearly":
        return f"{start.year}-H{1 if start.month <= 6 else 2}"
    if cadence == "yearly":
        return str(start.year)
    return start.isoformat()


def start_of_day(day: dt.date) -> dt.datetime:
    """00:00 local time of a day, as aware UTC."""
    return dt.datetime.combine(day, dt.time(0, 0), clock.zone()).astimezone(dt.UTC)


def end_of_day(day: dt.date) -> dt.datetime:
    """The last second (23:59:59 local) of a day, as aware UTC."""
    return dt.datetime.combine(day, dt.time(23, 59, 59), clock.zone()).astimezone(dt.UTC)


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(clock.zone()).date()


@functools.lru_cache(maxsize=64)
def _taiwan_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("TW", years=year).keys())


def is_working_day(day: dt.date, make_up_days: frozenset[dt.date] = frozenset(),
                   extra_holidays: frozenset[dt.date] = frozenset()) -> bool:
    """Mon-Fri except Taiwan's public holidays; make-up working days (補班) count as working days."""
    if day in make_up_days:
        return True
    if day in extra_holidays or day in _taiwan_holidays(day.year):
        return False
    return day.weekday() < 5


def add_working_days(day: dt.date, count: int, make_up_days: frozenset[dt.date] = frozenset(),
                     extra_holidays: frozenset[dt.date] = frozenset()) -> dt.date:
    """The date `count` working days after `day`."""
    current = day
    remaining = count
    while remaining > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current, make_up_days, extra_holidays):
            remaining -= 1
    return current


def parse_moment(text: str) -> dt.datetime:
    """An ISO 8601 time; without an offset it is read in the calendar's zone (Asia/Taipei)."""
    try:
        moment = dt.datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.zone())


def add_iso_duration(start: dt.datetime, text: str) -> dt.datetime:
    """Add an ISO 8601 duration (P1M, P1Y2M, P10D, PT2H) on the local calendar (months are calendar months)."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    try:
        parts = TimerEventDefinition.parse_iso_duration(str(text).strip().upper())
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises a bare Exception for bad durations
        raise ValueError(f"not an ISO 8601 duration: {text!r} (e.g. P1M, P10D, PT2H)") from None
    if not parts or not str(text).strip().upper().startswith("P"):
        raise ValueError(f"not an ISO 8601 duration: {text!r} (e.g. P1M, P10D, PT2H)")
    local = start.astimezone(clock.zone())
    moved = add_months(local.date(), int(parts.pop("years", 0)) * 12 + int(parts.pop("months", 0)))
    local = local.replace(year=moved.year, month=moved.month, day=moved.day)
    return (local + dt.timedelta(**parts)).astimezone(dt.UTC)
