"""The dashboard's obligation calendar: per agency, a month x obligation grid of period statuses for one year,
and a per-agency summary (late and missed first) for the master-agency view."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from engine.obligations import PeriodStatus, period_dict

STATUS_ORDER = ("late", "missed", "cancelled", "open", "done", "scheduled")
CELL_KEYS = ("late", "missed", "cancelled", "open", "done", "done_late", "scheduled")  # legend and summary columns
ATTENTION = ("late", "missed", "cancelled", "open")
STATUS_LABELS = {
    "late": ("逾期", "Late"), "missed": ("未開啟", "Missed"), "open": ("進行中", "Open"),
    "done": ("已完成", "Done"), "done_late": ("逾期完成", "Done late"), "scheduled": ("排定", "Scheduled"),
    "cancelled": ("已撤銷", "Cancelled"),
}
STATUS_ICONS = {"late": "!", "missed": "✕", "open": "…", "done": "✓", "done_late": "✓", "scheduled": "○",
                "cancelled": "⊘"}


@dataclass
class Segment:
    """Months `start`..`start + span - 1` of one obligation row, with the periods drawn there (none: a gap)."""

    start: int
    span: int
    periods: list[dict] = field(default_factory=list)


@dataclass
class GridRow:
    obligation: str
    title: str
    clauses: list[str]
    process_id: str
    segments: list[Segment]


@dataclass
class AgencyGrid:
    code: str
    name: str
    rows: list[GridRow]
    counts: collections.Counter
    on_time_rate: float | None

    @property
    def needs_attention(self) -> int:
        return self.counts["late"] + self.counts["missed"] + self.counts["cancelled"]


def cell_status(item: dict) -> str:
    """The colour key of a period: its status, with done-but-late told apart from done on time."""
    return "done_late" if item["status"] == "done" and item.get("late") else item["status"]


def _months(status: PeriodStatus, year: int) -> tuple[int, int]:
    first, last = status.period.first_day, status.period.last_day
    start = first.month if first.year == year else 1
    end = last.month if last.year == year else 12
    return start, max(start, end)


def _segments(items: list[tuple[PeriodStatus, dict]], year: int) -> list[Segment]:
    """Lay periods out left to right; a period sharing its first month with the previous one starts a month
    later (90-day periods), one with no month left joins the previous cell."""
    segments: list[Segment] = []
    cursor = 1
    for status, info in sorted(items, key=lambda pair: pair[0].period.first_day):
        start, end = _months(status, year)
        start = max(start, cursor)
        if start > end:
            if segments:
                segments[-1].periods.append(info)
            continue
        if start > cursor:
            segments.append(Segment(cursor, start - cursor))
        segments.append(Segment(start, end - start + 1, [info]))
        cursor = end + 1
    if cursor <= 12:
        segments.append(Segment(cursor, 13 - cursor))
    return segments


def _on_time_rate(counts: collections.Counter) -> float | None:
    finished = counts["done"] + counts["done_late"]
    return counts["done"] / finished if finished else None


def agency_grids(statuses: list[PeriodStatus], year: int, order: list[str]) -> list[AgencyGrid]:
    """One grid per agency for the periods starting in `year` (agencies with late or missed periods first),
    rows in `order` (the obligations file's order)."""
    by_agency: dict[str, list[PeriodStatus]] = collections.defaultdict(list)
    agencies = {}
    for status in statuses:
        if status.period.first_day.year != year:
            continue
        by_agency[status.agency.code].append(status)
        agencies[status.agency.code] = status.agency
    grids = []
    for code, items in by_agency.items():
        rows: dict[str, list[tuple[PeriodStatus, dict]]] = {}
        counts: collections.Counter = collections.Counter()
        for status in items:
            info = period_dict(status) | {"title": status.obligation.title}
            info["cell"] = cell_status(info)
            counts[info["cell"]] += 1
            rows.setdefault(status.obligation.id, []).append((status, info))
        grid_rows = [GridRow(oid, pairs[0][0].obligation.title, list(pairs[0][0].obligation.clauses),
                             pairs[0][0].obligation.process_id, _segments(pairs, year)) for oid, pairs in rows.items()]
        grid_rows.sort(key=lambda row: order.index(row.obligation) if row.obligation in order else len(order))
        counts["done_total"] = counts["done"] + counts["done_late"]
        grids.append(AgencyGrid(code, agencies[code].name, grid_rows, counts, _on_time_rate(counts)))
    grids.sort(key=lambda g: (-g.needs_attention, g.code))
    return grids


def attention_list(statuses: list[PeriodStatus]) -> list[dict]:
    """Late, then missed, then cancelled (not met), then open periods (whatever their year), earliest due first."""
    rows = [period_dict(s) | {"title": s.obligation.title, "process_id": s.obligation.process_id}
            for s in statuses if s.status in ATTENTION]
    return sorted(rows, key=lambda r: (STATUS_ORDER.index(r["status"]), r["due_at"], r["agency"]))
