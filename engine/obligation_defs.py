"""Obligation definitions (data an analyst deploys as `obligations.json`) and their calendar periods.

An offset is `{"from": "period_start" | "after_period", "months": m, "days": d}`: `after_period` is the day
after the period's last day. Due dates are calendar dates and are NOT moved off weekends or holidays: the
regulation's deadlines ("by the end of March") are calendar deadlines; working days only pace escalation.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from engine.calendar import (
    CADENCES,
    add_months,
    end_of_day,
    next_period_start,
    period_label,
    period_start,
    start_of_day,
)

DEFINITIONS_FILE = "obligations.json"
ANCHORS = ("period_start", "after_period")


class DefinitionError(ValueError):
    """An obligations file that cannot be used; the message names the obligation and field."""


@dataclass(frozen=True)
class Offset:
    anchor: str
    months: int = 0
    days: int = 0

    def apply(self, start: dt.date, after: dt.date) -> dt.date:
        base = start if self.anchor == "period_start" else after
        return add_months(base, self.months) + dt.timedelta(days=self.days)


@dataclass(frozen=True)
class Period:
    """One period of one obligation: its label and when it opens and is due (aware UTC)."""

    label: str
    first_day: dt.date
    last_day: dt.date
    opens_at: dt.datetime
    due_at: dt.datetime


@dataclass(frozen=True)
class Obligation:
    id: str
    title: str
    clauses: tuple[str, ...]
    process_id: str
    cadence: str
    opens: Offset
    due: Offset
    responsible_role: str
    every_days: int = 0
    calendar_escalation: bool = True  # False: the process escalates its own overdue steps (password_rotation)

    def periods(self, approved_on: dt.date, until: dt.date) -> list[Period]:
        """Periods owed by an agency approved on `approved_on` (ending on or after it), opening by `until`."""
        if self.cadence == "every_n_days":
            return self._day_periods(approved_on, until)
        found = []
        start = period_start(self.cadence, approved_on)
        while True:
            after = next_period_start(self.cadence, start)
            opens = self.opens.apply(start, after)
            if opens > until:
                return found
            due = self.due.apply(start, after)
            found.append(Period(period_label(self.cadence, start), start, after - dt.timedelta(days=1),
                                start_of_day(opens), end_of_day(due)))
            start = after

    def _day_periods(self, approved_on: dt.date, until: dt.date) -> list[Period]:
        found, k = [], 1
        while (opens := approved_on + dt.timedelta(days=k * self.every_days)) <= until:
            due = opens + dt.timedelta(days=self.due.days)
            found.append(Period(period_label(self.cadence, opens), opens,
                                opens + dt.timedelta(days=self.every_days - 1), start_of_day(opens), end_of_day(due)))
            k += 1
        return found


@dataclass(frozen=True)
class Definitions:
    obligations: tuple[Obligation, ...] = ()
    escalation_process: str | None = None
    head_after_working_days: int = 3
    make_up_working_days: frozenset[dt.date] = field(default_factory=frozenset)
    extra_holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def get(self, obligation_id: str) -> Obligation | None:
        return next((o for o in self.obligations if o.id == obligation_id), None)


def _offset(raw, where: str) -> Offset:
    if not isinstance(raw, dict) or raw.get("from", "after_period") not in ANCHORS:
        raise DefinitionError(f"{where}: must be an object with 'from' one of {', '.join(ANCHORS)}")
    try:
        return Offset(raw.get("from", "after_period"), int(raw.get("months", 0)), int(raw.get("days", 0)))
    except (TypeError, ValueError):
        raise DefinitionError(f"{where}: 'months' and 'days' must be integers") from None


def _obligation(raw: dict, index: int) -> Obligation:
    where = f"obligations[{index}] ({raw.get('id', '?')})"
    missing = [k for k in ("id", "clauses", "process_id", "cadence", "due", "responsible_role") if k not in raw]
    if missing:
        raise DefinitionError(f"{where}: missing {', '.join(missing)}")
    if raw["cadence"] not in CADENCES:
        raise DefinitionError(f"{where}.cadence: one of {', '.join(CADENCES)}")
    every = int(raw.get("every_days", 0) or 0)
    if raw["cadence"] == "every_n_days" and every < 1:
        raise DefinitionError(f"{where}.every_days: a positive number of days is required")
    if not isinstance(raw["clauses"], list) or not raw["clauses"]:
        raise DefinitionError(f"{where}.clauses: a non-empty list of clause ids")
    opens = _offset(raw.get("opens", {"from": "after_period"}), f"{where}.opens")
    escalate = raw.get("calendar_escalation", True)
    if not isinstance(escalate, bool):
        raise DefinitionError(f"{where}.calendar_escalation: true or false")
    return Obligation(raw["id"], raw.get("title", raw["id"]), tuple(raw["clauses"]), raw["process_id"],
                      raw["cadence"], opens, _offset(raw["due"], f"{where}.due"), raw["responsible_role"], every,
                      escalate)


def _dates(values, where: str) -> frozenset[dt.date]:
    try:
        return frozenset(dt.date.fromisoformat(v) for v in values or [])
    except (TypeError, ValueError):
        raise DefinitionError(f"{where}: ISO dates (YYYY-MM-DD) expected") from None


def parse_definitions(text: str) -> Definitions:
    """Parse and check an obligations file."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    items = raw.get("obligations") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise DefinitionError("top level must be an object with an 'obligations' list")
    obligations = tuple(_obligation(item, i) for i, item in enumerate(items))
    ids = [o.id for o in obligations]
    if len(ids) != len(set(ids)):
        raise DefinitionError(f"obligation ids must be unique: {sorted({i for i in ids if ids.count(i) > 1})}")
    escalation = raw.get("escalation") or {}
    return Definitions(obligations, escalation.get("process_id"), int(escalation.get("head_after_working_days", 3)),
                       _dates(raw.get("make_up_working_days"), "make_up_working_days"),
                       _dates(raw.get("extra_holidays"), "extra_holidays"))
