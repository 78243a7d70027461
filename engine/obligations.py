"""The compliance calendar at run time: open each owed period once, escalate late ones, report statuses."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.calendar import add_months, add_working_days, end_of_day, local_date
from engine.db import Database
from engine.deployed_files import newest_content
from engine.models import Agency, InstanceStatus, ObligationPeriod, ProcessInstance
from engine.obligation_defs import DEFINITIONS_FILE, Definitions, Obligation, Period, parse_definitions
from engine.runtime import SYSTEM_ACTOR, start_in_session
from engine.specs import latest_version

log = logging.getLogger(__name__)
LISTING_MONTHS_AHEAD = 12


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> Definitions:
    return parse_definitions(text)


def definitions(session: Session) -> Definitions:
    """The newest deployed obligations file (none deployed: no obligations)."""
    content = newest_content(session, DEFINITIONS_FILE)
    return _parsed(content) if content else Definitions()


def approved_agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).where(Agency.approved_on.is_not(None)).order_by(Agency.code)))


def _owed(defs: Definitions, agency: Agency, until: dt.date):
    for obligation in defs.obligations:
        for period in obligation.periods(agency.approved_on, until):
            yield obligation, period


def _existing(session: Session, agency_id: int) -> set[tuple[str, str]]:
    rows = session.execute(select(ObligationPeriod.obligation_id, ObligationPeriod.label)
                           .where(ObligationPeriod.agency_id == agency_id))
    return {(o, label) for o, label in rows}


def _start_data(obligation: Obligation, period: Period) -> dict:
    return {"obligation": obligation.id, "period": period.label, "opens_at": period.opens_at.isoformat(),
            "due_at": period.due_at.isoformat(), "clauses": list(obligation.clauses),
            "obligation_title": obligation.title}


def open_period(db: Database, agency_id: int, obligation: Obligation, period: Period) -> int | None:
    """Open one given period now (demo data, catch-up by hand); its instance id, None if it was open already."""
    if not _open_one(db, agency_id, obligation, period):
        return None
    with db.sessions() as session:
        return session.scalar(select(ObligationPeriod.instance_id).where(
            ObligationPeriod.agency_id == agency_id, ObligationPeriod.obligation_id == obligation.id,
            ObligationPeriod.label == period.label))


def _open_one(db: Database, agency_id: int, obligation: Obligation, period: Period) -> bool:
    """Open one period: its row and its instance in one transaction; a duplicate is skipped (unique key)."""
    try:
        with db.transaction() as session:
            version = latest_version(session, obligation.process_id)
            if version is None:
                log.warning("obligation %s: process %s is not deployed", obligation.id, obligation.process_id)
                return False
            agency = session.get(Agency, agency_id)
            row = ObligationPeriod(obligation_id=obligation.id, agency_id=agency_id, label=period.label,
                                   opens_at=period.opens_at, due_at=period.due_at, opened_at=clock.now())
            session.add(row)
            session.flush()  # the unique key refuses a second opening here, before any instance exists
            row.instance_id = start_in_session(session, version, agency, None, _start_data(obligation, period)).id
            audit.record(session, "obligation_opened", SYSTEM_ACTOR, row.instance_id, obligation=obligation.id,
                         agency=agency.code, period=period.label, late=clock.now() > period.due_at)
        return True
    except IntegrityError:
        return False


def open_due_periods(db: Database) -> int:
    """Open every owed period whose opening time has come and that is not open yet; returns how many."""
    now = clock.now()
    with db.sessions() as session:
        defs = definitions(session)
        todo = [(agency.id, o, p) for agency in approved_agencies(session)
                for o, p in _owed(defs, agency, local_date(now))
                if p.opens_at <= now and (o.id, p.label) not in _existing(session, agency.id)]
    todo.sort(key=lambda item: item[2].opens_at)
    return sum(_open_one(db, agency_id, o, p) for agency_id, o, p in todo)


def _late_unescalated(session: Session, now: dt.datetime) -> list[ObligationPeriod]:
    return list(session.scalars(
        select(ObligationPeriod).join(ProcessInstance, ProcessInstance.id == ObligationPeriod.instance_id)
        .where(ObligationPeriod.due_at < now, ObligationPeriod.escalated_at.is_(None),
               ObligationPeriod.fulfilled_at.is_(None),
               ProcessInstance.status.not_in([InstanceStatus.COMPLETED, InstanceStatus.CANCELLED]))
        .order_by(ObligationPeriod.due_at)))


def _self_escalating(defs: Definitions) -> set[str]:
    """Obligations whose process escalates its own overdue steps: the calendar starts no escalation for them."""
    return {o.id for o in defs.obligations if not o.calendar_escalation}


def escalate_late_periods(db: Database) -> int:
    """Start one escalation (agency admin, then agency head) for each open period past its due time."""
    now = clock.now()
    with db.sessions() as session:
        defs = definitions(session)
        self_escalating = _self_escalating(defs)
        late = [p.id for p in _late_unescalated(session, now) if p.obligation_id not in self_escalating]
    if not defs.escalation_process:
        return 0
    count = 0
    for period_id in late:
        with db.transaction() as session:
            row = session.get(ObligationPeriod, period_id, with_for_update=True)
            version = latest_version(session, defs.escalation_process)
            if row.escalated_at is not None or version is None:
                continue
            obligation = defs.get(row.obligation_id)
            head_at = end_of_day(add_working_days(local_date(now), defs.head_after_working_days,
                                                  defs.make_up_working_days, defs.extra_holidays))
            data = {"obligation": row.obligation_id, "obligation_title": obligation.title if obligation else "",
                    "period": row.label, "due_at": row.due_at.isoformat(), "late_instance_id": row.instance_id,
                    "escalate_to_head_at": head_at.isoformat()}
            instance = start_in_session(session, version, session.get(Agency, row.agency_id), None, data)
            row.escalated_at, row.escalation_instance_id = now, instance.id
            audit.record(session, "obligation_escalated", SYSTEM_ACTOR, row.instance_id,
                         obligation=row.obligation_id, period=row.label, escalation_instance=instance.id)
            count += 1
    return count


def mark_fulfilled(session: Session, instance_id: int, fulfilled: bool) -> ObligationPeriod | None:
    """Record (or withdraw) that the agency's part of the instance's period is done; None for no period."""
    row = session.scalar(select(ObligationPeriod).where(ObligationPeriod.instance_id == instance_id))
    if row is not None:
        row.fulfilled_at = clock.now() if fulfilled else None
    return row


def next_event_at(db: Database, until: dt.datetime) -> dt.datetime | None:
    """The earliest moment up to `until` when a period opens or an open period turns late."""
    now = clock.now()
    with db.sessions() as session:
        defs = definitions(session)
        times = [p.opens_at for agency in approved_agencies(session)
                 for o, p in _owed(defs, agency, local_date(until))
                 if p.opens_at <= until and (o.id, p.label) not in _existing(session, agency.id)]
        if defs.escalation_process:
            pending = session.scalar(select(func.min(ObligationPeriod.due_at)).join(
                ProcessInstance, ProcessInstance.id == ObligationPeriod.instance_id).where(
                ObligationPeriod.escalated_at.is_(None), ObligationPeriod.fulfilled_at.is_(None),
                ObligationPeriod.obligation_id.not_in(_self_escalating(defs) or {""}),
                ProcessInstance.status.not_in([InstanceStatus.COMPLETED, InstanceStatus.CANCELLED])))
            if pending is not None:
                times.append(max(pending + dt.timedelta(seconds=1), now))
    times = [t for t in times if t <= until]
    return min(times) if times else None


@dataclass
class PeriodStatus:
    obligation: Obligation
    agency: Agency
    period: Period
    status: str
    instance_id: int | None
    completed_at: dt.datetime | None
    late: bool


def _status_of(row: ObligationPeriod | None, instance: ProcessInstance | None, period: Period,
               now: dt.datetime) -> tuple[str, dt.datetime | None, bool]:
    if row is None or instance is None:
        return ("scheduled" if period.opens_at > now else "missed"), None, period.due_at < now
    if row.fulfilled_at is not None:
        return "done", row.fulfilled_at, row.fulfilled_at > period.due_at
    if instance.status == InstanceStatus.COMPLETED:
        ended = instance.ended_at
        return "done", ended, bool(ended and ended > period.due_at)
    if instance.status == InstanceStatus.CANCELLED:
        # A manager ended it: the obligation was NOT met, and the period is never opened again (unique key).
        return "cancelled", None, now > period.due_at
    return ("late" if now > period.due_at else "open"), None, now > period.due_at


def period_statuses(session: Session, agencies: list[Agency], year: int | None = None) -> list[PeriodStatus]:
    """Every owed period from approval up to 12 months ahead of the clock, with its status."""
    now = clock.now()
    defs = definitions(session)
    horizon = add_months(local_date(now), LISTING_MONTHS_AHEAD)
    result = []
    for agency in agencies:
        if agency.approved_on is None:
            continue
        rows = {(r.obligation_id, r.label): r for r in session.scalars(
            select(ObligationPeriod).where(ObligationPeriod.agency_id == agency.id))}
        for obligation, period in _owed(defs, agency, horizon):
            if year is not None and period.first_day.year != year:
                continue
            row = rows.get((obligation.id, period.label))
            instance = session.get(ProcessInstance, row.instance_id) if row and row.instance_id else None
            status, completed_at, late = _status_of(row, instance, period, now)
            result.append(PeriodStatus(obligation, agency, period, status, row.instance_id if row else None,
                                       completed_at, late))
    result.sort(key=lambda s: (s.period.opens_at, s.agency.code, s.obligation.id))
    return result


def period_dict(item: PeriodStatus) -> dict:
    """A period as the API and CLI show it (times ISO 8601 in the local zone)."""
    local = clock.zone()
    result = {
        "obligation": item.obligation.id, "clauses": list(item.obligation.clauses), "agency": item.agency.code,
        "period": item.period.label, "opens_at": item.period.opens_at.astimezone(local).isoformat(),
        "due_at": item.period.due_at.astimezone(local).isoformat(), "status": item.status,
        "instance_id": item.instance_id, "late": item.late,
    }
    if item.status == "done":
        result["completed_at"] = item.completed_at.astimezone(local).isoformat() if item.completed_at else None
    return result
