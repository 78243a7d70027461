"""The engine's notion of now (a simulated clock arrives with the scheduler) and ISO 8601 durations."""

from __future__ import annotations

import datetime as dt
import re

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+)S)?)?$"
)


def now() -> dt.datetime:
    """Current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def parse_duration(text: str) -> dt.timedelta:
    """An ISO 8601 duration of weeks, days and time (P5D, PT4H, P1DT12H); months and years are refused."""
    match = _DURATION.match((text or "").strip())
    if not match or text.strip() in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration of days/hours/minutes: {text!r}")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    return dt.timedelta(**parts)
