"""Calendar arithmetic: month ends, leap years, year change, deadlines on weekends and holidays."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.calendar import add_iso_duration, add_months, add_working_days, end_of_day, is_working_day, start_of_day
from engine.obligation_defs import DefinitionError, parse_definitions

DEFINITIONS = parse_definitions((Path(__file__).resolve().parents[2] / "bpmn" / "obligations.json").read_text())


@pytest.mark.parametrize(("day", "months", "expected"), [
    (dt.date(2027, 1, 31), 1, dt.date(2027, 2, 28)),
    (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),  # leap year
    (dt.date(2028, 2, 29), 12, dt.date(2029, 2, 28)),
    (dt.date(2027, 12, 15), 1, dt.date(2028, 1, 15)),  # year change
    (dt.date(2027, 3, 31), -1, dt.date(2027, 2, 28)),
    (dt.date(2027, 8, 31), 3, dt.date(2027, 11, 30)),
])
def test_add_months_clamps_to_the_last_day_of_short_months(day, months, expected):
    assert add_months(day, months) == expected


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31)), st.integers(-240, 240))
def test_add_months_always_lands_in_the_right_month(day, months):
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day == day.day or result.day < day.day


def test_due_is_the_last_second_of_the_day_in_taipei():
    assert end_of_day(dt.date(2027, 3, 31)).isoformat() == "2027-03-31T15:59:59+00:00"
    assert start_of_day(dt.date(2027, 4, 1)).isoformat() == "2027-03-31T16:00:00+00:00"


@pytest.mark.clause("R8.1.6")
def test_r8_1_6_deadline_stays_on_31_march_even_on_a_weekend():
    # 31 March 2029 is a Saturday: the rule is a calendar deadline, not moved to a working day.
    submission = DEFINITIONS.get("annual_audit_submission")
    period = next(p for p in submission.periods(dt.date(2028, 1, 1), dt.date(2029, 1, 2)) if p.label == "2028")
    assert dt.date(2029, 3, 31).weekday() == 5
    assert period.due_at == end_of_day(dt.date(2029, 3, 31))


def test_working_days_skip_weekends_and_taiwan_holidays_and_count_make_up_days():
    assert not is_working_day(dt.date(2027, 1, 1))  # 開國紀念日 Founding Day
    assert not is_working_day(dt.date(2027, 2, 8))  # Lunar New Year
    assert not is_working_day(dt.date(2027, 2, 20))  # a Saturday
    assert is_working_day(dt.date(2027, 2, 20), make_up_days=frozenset({dt.date(2027, 2, 20)}))
    assert add_working_days(dt.date(2026, 12, 31), 1) == dt.date(2027, 1, 4)  # Fri 1 Jan is a holiday


@pytest.mark.parametrize(("obligation", "labels", "opens", "due"), [
    ("monthly_register_check", "2027-01", "2027-02-01", "2027-02-28"),
    ("monthly_register_check", "2028-01", "2028-02-01", "2028-02-29"),
    ("quarterly_log_download", "2027-Q4", "2028-01-01", "2028-01-31"),
    ("semiannual_internal_audit", "2027-H1", "2027-07-01", "2027-08-31"),
    ("annual_audit_submission", "2027", "2028-01-01", "2028-03-31"),
    ("annual_records_disposition", "2027", "2027-12-01", "2027-12-31"),
])
def test_periods_open_and_fall_due_as_the_interfaces_table_says(obligation, labels, opens, due):
    periods = {p.label: p for p in DEFINITIONS.get(obligation).periods(dt.date(2026, 12, 1), dt.date(2028, 12, 31))}
    period = periods[labels]
    assert period.opens_at == start_of_day(dt.date.fromisoformat(opens))
    assert period.due_at == end_of_day(dt.date.fromisoformat(due))


def test_only_periods_ending_on_or_after_approval_are_owed():
    monthly = DEFINITIONS.get("monthly_register_check").periods(dt.date(2026, 12, 1), dt.date(2027, 3, 1))
    assert [p.label for p in monthly] == ["2026-12", "2027-01", "2027-02"]


def test_password_rotation_opens_every_90_days_from_approval_due_14_days_later():
    periods = DEFINITIONS.get("password_rotation").periods(dt.date(2026, 12, 1), dt.date(2027, 6, 1))
    assert [p.label for p in periods] == ["2027-03-01", "2027-05-30"]
    assert periods[0].due_at == end_of_day(dt.date(2027, 3, 15))


def test_clock_durations_use_calendar_months():
    start = start_of_day(dt.date(2027, 1, 31))
    assert add_iso_duration(start, "P1M") == start_of_day(dt.date(2027, 2, 28))
    assert add_iso_duration(start, "P1Y") == start_of_day(dt.date(2028, 1, 31))
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        add_iso_duration(start, "one month")


@pytest.mark.parametrize(("text", "message"), [
    ("[]", "obligations"), ('{"obligations": [{"id": "x"}]}', "missing"),
    ('{"obligations": [{"id": "x", "clauses": ["R1"], "process_id": "p", "cadence": "weekly", "due": {},'
     ' "responsible_role": "r"}]}', "cadence"),
    ("{", "line 1"),
])
def test_bad_obligation_definitions_are_refused_with_the_field(text, message):
    with pytest.raises(DefinitionError, match=message):
        parse_definitions(text)
