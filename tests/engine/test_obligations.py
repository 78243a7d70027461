"""The compliance calendar runs by itself: each owed period opens once, at its time, with its clauses."""

from __future__ import annotations

import collections
import datetime as dt

import pytest
from sqlalchemy import select

from engine import obligations, timekeeping
from engine.calendar import end_of_day
from engine.models import Agency, ObligationPeriod, ProcessInstance
from engine.scheduler import Scheduler
from workflows import bundled, org

TAIPEI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def calendar_db(db, sim_clock):
    """Only the bundled models and one agency approved on 2026-12-01; the clock at 2026-12-15."""
    sim_clock.set(dt.datetime(2026, 12, 15, 9, 0, tzinfo=TAIPEI))
    with db.transaction() as session:
        bundled.deploy_bundled(session)
        org.create_agency(session, "DOL", "勞動局", master=True)
        org.create_agency(session, "TPE", "測試機關 Test agency", approved_on=dt.date(2026, 12, 1))
    return db


def _periods(db) -> list[ObligationPeriod]:
    with db.sessions() as session:
        return list(session.scalars(select(ObligationPeriod).order_by(ObligationPeriod.opens_at)))


def _statuses(db, year=None) -> dict[tuple[str, str], dict]:
    with db.sessions() as session:
        agencies = list(session.scalars(select(Agency).where(Agency.code == "TPE")))
        return {(r["obligation"], r["period"]): r for r in map(obligations.period_dict,
                                                               obligations.period_statuses(session, agencies, year))}


@pytest.mark.clause("R3.3", "R8.1.1", "R8.1.3", "R8.1.6")
def test_a_simulated_year_opens_each_owed_period_exactly_once(calendar_db):
    timekeeping.advance_to(calendar_db, dt.datetime(2028, 1, 5, tzinfo=TAIPEI))
    periods = _periods(calendar_db)
    keys = [(p.obligation_id, p.label) for p in periods]
    assert len(keys) == len(set(keys))
    labels_2027 = collections.Counter(o for o, label in keys if label.startswith("2027"))
    assert labels_2027["monthly_register_check"] == 12
    assert labels_2027["quarterly_log_download"] == 4
    assert labels_2027["semiannual_internal_audit"] == 2
    submission = {p.label: p for p in periods if p.obligation_id == "annual_audit_submission"}
    assert set(submission) == {"2026", "2027"}
    assert submission["2026"].due_at == end_of_day(dt.date(2027, 3, 31))
    assert submission["2027"].opens_at.astimezone(TAIPEI).date() == dt.date(2028, 1, 1)
    statuses = _statuses(calendar_db)
    assert statuses[("annual_audit_submission", "2026")]["clauses"] == ["R8.1.6"]
    assert statuses[("monthly_register_check", "2027-03")]["clauses"] == ["R3.3", "R8.1.2"]


def test_each_period_opens_at_its_own_time_with_its_process(calendar_db):
    timekeeping.advance_to(calendar_db, dt.datetime(2027, 4, 2, tzinfo=TAIPEI))
    with calendar_db.sessions() as session:
        defs = obligations.definitions(session)
        start = dt.datetime(2026, 12, 15, 9, 0, tzinfo=TAIPEI)
        for period in _periods(calendar_db):
            instance = session.get(ProcessInstance, period.instance_id)
            opened_due = max(period.opens_at, start)  # records disposition 2026 opened before the clock started
            assert opened_due <= instance.started_at <= opened_due + dt.timedelta(seconds=1)
            assert instance.process_id == defs.get(period.obligation_id).process_id


def test_open_period_past_due_is_late_and_escalated_once(calendar_db):
    timekeeping.advance_to(calendar_db, dt.datetime(2027, 2, 3, tzinfo=TAIPEI))
    status = _statuses(calendar_db)[("monthly_register_check", "2026-12")]
    assert status["status"] == "late"  # due 2027-01-31, nobody did it
    escalated = [p for p in _periods(calendar_db) if p.escalation_instance_id]
    assert {(p.obligation_id, p.label) for p in escalated} >= {("monthly_register_check", "2026-12")}
    timekeeping.advance_to(calendar_db, dt.datetime(2027, 2, 4, tzinfo=TAIPEI))
    assert len([p for p in _periods(calendar_db) if p.escalation_instance_id]) == len(escalated)


def test_scheduler_down_for_months_opens_missed_periods_once_and_they_show_late(calendar_db, sim_clock):
    sim_clock.set(dt.datetime(2027, 4, 10, tzinfo=TAIPEI))  # the scheduler was down: nothing opened
    before = _statuses(calendar_db)
    assert before[("monthly_register_check", "2027-01")]["status"] == "missed"
    Scheduler(calendar_db).sweep()
    Scheduler(calendar_db).sweep()  # a second scheduler by mistake stands by
    after = _statuses(calendar_db)
    for label in ("2026-12", "2027-01", "2027-02"):
        assert after[("monthly_register_check", label)]["status"] == "late"
    assert after[("monthly_register_check", "2027-03")]["status"] == "open"
    assert after[("monthly_register_check", "2027-04")]["status"] == "scheduled"
    keys = [(p.obligation_id, p.label) for p in _periods(calendar_db)]
    assert len(keys) == len(set(keys))


def test_listing_reaches_twelve_months_ahead_and_filters_by_year(calendar_db):
    statuses = _statuses(calendar_db)
    assert ("monthly_register_check", "2027-11") in statuses
    assert ("monthly_register_check", "2028-01") not in statuses
    only_2026 = _statuses(calendar_db, year=2026)
    assert {label for _, label in only_2026} <= {"2026-12", "2026-Q4", "2026-H2", "2026"}


def _escalation_tasks(db, label) -> dict[str, str]:
    from engine.models import HumanTask

    with db.sessions() as session:
        period = session.scalar(select(ObligationPeriod).where(
            ObligationPeriod.obligation_id == "monthly_register_check", ObligationPeriod.label == label))
        rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == period.escalation_instance_id))
        return {t.name: (t.role, t.status.value) for t in rows}


def test_escalation_goes_to_the_agency_head_after_three_working_days(calendar_db):
    # 2026-12 is due Sun 2027-01-31 and escalates on Mon 1 Feb; 2-3 Feb are working days, 4-10 Feb are
    # Lunar New Year holidays, so the third working day is Thu 11 Feb: the head gets it after that day.
    timekeeping.advance_to(calendar_db, dt.datetime(2027, 2, 11, 12, 0, tzinfo=TAIPEI))
    assert _escalation_tasks(calendar_db, "2026-12") == {"follow_up_overdue": ("agency_admin", "ready")}
    timekeeping.advance_to(calendar_db, dt.datetime(2027, 2, 12, 9, 0, tzinfo=TAIPEI))
    assert _escalation_tasks(calendar_db, "2026-12") == {"follow_up_overdue": ("agency_admin", "cancelled"),
                                                         "head_follow_up": ("agency_head", "ready")}


def test_cancelled_period_shows_cancelled_not_done_and_is_not_escalated(calendar_db):
    from engine import admin_ops

    with calendar_db.transaction() as session:
        admin = org.create_user(session, "dol.boss", "DOL", "pw-123456789", roles=("master_admin",)).id
    timekeeping.advance_to(calendar_db, dt.datetime(2027, 1, 5, tzinfo=TAIPEI))
    period = next(p for p in _periods(calendar_db) if (p.obligation_id, p.label) == ("monthly_register_check",
                                                                                       "2026-12"))
    assert _statuses(calendar_db)[("monthly_register_check", "2026-12")]["status"] == "open"
    admin_ops.cancel_instance(calendar_db, period.instance_id, admin, "重複開啟 opened twice")
    cancelled = _statuses(calendar_db)[("monthly_register_check", "2026-12")]
    assert cancelled["status"] == "cancelled" and cancelled["late"] is False and "completed_at" not in cancelled
    timekeeping.advance_to(calendar_db, dt.datetime(2027, 2, 3, tzinfo=TAIPEI))  # past its due date
    after = _statuses(calendar_db)[("monthly_register_check", "2026-12")]
    assert after["status"] == "cancelled" and after["late"] is True
    assert next(p for p in _periods(calendar_db) if p.id == period.id).escalation_instance_id is None
    assert _statuses(calendar_db)[("monthly_register_check", "2027-01")]["status"] == "open"
