"""The dashboard's on-time charts: share of obligation periods done by their due date, by month, by obligation
and by agency, laid out here as server-rendered SVG geometry (no JavaScript; the CSP allows none inline).

A period counts once it is decided: done (on time or late), or past its due time whatever its state (late,
missed, cancelled). Periods still open before their due time, and scheduled ones, do not count yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine import clock
from engine.obligations import PeriodStatus

CHART_WIDTH, CHART_HEIGHT = 600, 180
AXIS_LEFT, AXIS_BOTTOM, TOP = 36, 22, 8


@dataclass
class RateBar:
    """On-time count over decided periods for one month, obligation or agency, with where to draw it."""

    key: str
    label: str
    on_time: int = 0
    total: int = 0
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0

    @property
    def rate(self) -> float | None:
        return self.on_time / self.total if self.total else None


def decided(status: PeriodStatus, now: dt.datetime) -> bool:
    return status.status == "done" or status.period.due_at < now


def on_time(status: PeriodStatus) -> bool:
    return status.status == "done" and not status.late


def _tally(bars: dict[str, RateBar], key: str, status: PeriodStatus) -> None:
    bar = bars.get(key)
    if bar is not None:
        bar.total += 1
        bar.on_time += on_time(status)


def _due_month(status: PeriodStatus) -> tuple[int, int]:
    local = status.period.due_at.astimezone(clock.zone())
    return local.year, local.month


def monthly(statuses: list[PeriodStatus], year: int, now: dt.datetime) -> list[RateBar]:
    """Twelve columns: the periods DUE in each month of `year`, as vertical bars."""
    bars = {str(m): RateBar(str(m), f"{m}") for m in range(1, 13)}
    for status in statuses:
        due_year, due_month = _due_month(status)
        if due_year == year and decided(status, now):
            _tally(bars, str(due_month), status)
    result = list(bars.values())
    step = (CHART_WIDTH - AXIS_LEFT) / len(result)
    plot = CHART_HEIGHT - AXIS_BOTTOM - TOP
    for index, bar in enumerate(result):
        bar.width = step * 0.6
        bar.x = AXIS_LEFT + index * step + step * 0.2
        bar.height = plot * (bar.rate or 0)
        bar.y = TOP + plot - bar.height
    return result


def grouped(statuses: list[PeriodStatus], year: int, now: dt.datetime, by: str,
            titles: dict[str, str]) -> list[RateBar]:
    """Horizontal bars of the periods due in `year` by obligation (`by="obligation"`) or agency, in `titles` order."""
    bars = {key: RateBar(key, title) for key, title in titles.items()}
    for status in statuses:
        if _due_month(status)[0] == year and decided(status, now):
            _tally(bars, status.obligation.id if by == "obligation" else status.agency.code, status)
    result = [bar for bar in bars.values() if bar.total]
    for bar in result:
        bar.width = (bar.rate or 0) * 100  # percent of the bar's track (its SVG is 100 units wide)
    return result


def chart_data(statuses: list[PeriodStatus], year: int, obligation_titles: dict[str, str],
               agency_names: dict[str, str]) -> dict:
    """Everything the dashboard's on-time section draws."""
    now = clock.now()
    months = monthly(statuses, year, now)
    by_obligation = grouped(statuses, year, now, "obligation", obligation_titles)
    by_agency = grouped(statuses, year, now, "agency", agency_names)
    total = sum(b.total for b in by_obligation)
    return {"months": months, "by_obligation": by_obligation, "by_agency": by_agency, "total": total,
            "rate": (sum(b.on_time for b in by_obligation) / total) if total else None,
            "width": CHART_WIDTH, "height": CHART_HEIGHT, "left": AXIS_LEFT, "top": TOP,
            "plot": CHART_HEIGHT - AXIS_BOTTOM - TOP}
