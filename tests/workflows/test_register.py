"""The query register, Form 2 (R6.1): file import, entries recorded in the app, append-only corrections."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from engine.models import Agency, User
from workflows import demo
from workflows.models_records import RegisterEntry
from workflows.register import RegisterError, import_register, record_entry
from workflows.tabular import FileRefused

HEADER = "案件編號,查詢人員,查詢日期,查詢目的,被查詢人身分證號\n"


@pytest.fixture
def org_db(db):
    """The demo organisation (the register needs no process model)."""
    with db.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
    return db


def _import(db, tmp_path, text: str, encoding="utf-8"):
    (tmp_path / "reg.csv").write_bytes(text.encode(encoding))
    return import_register(db, tmp_path / "reg.csv", "DSW", tmp_path / "evidence")


def _entries(db) -> list[RegisterEntry]:
    with db.sessions() as session:
        return list(session.scalars(select(RegisterEntry).order_by(RegisterEntry.id)))


def _people(session):
    agency = session.scalar(select(Agency).where(Agency.code == "DSW"))
    return agency, session.scalar(select(User).where(User.username == "dsw.user"))


@pytest.mark.clause("R6.1")
def test_r6_1_register_file_with_dates_and_date_times(org_db, tmp_path):
    result = _import(org_db, tmp_path, HEADER + "C1,dsw.user,113/05/02,查核資格,a123456789\n"
                     "C2,dsw.user,2024-05-02 14:03,查核資格,\n", encoding="cp950")
    assert (result.imported, result.rejected) == (2, [])
    day, moment = _entries(org_db)
    assert day.date_only and day.queried_at == dt.datetime(2024, 5, 1, 16, 0, tzinfo=dt.UTC)
    assert day.window_end_ts - day.window_start_ts == 86399 and day.subject_id == "A123456789"
    assert not moment.date_only and moment.window_start_ts == moment.window_end_ts and moment.subject_id == ""


@pytest.mark.clause("R6.1")
def test_r6_1_register_rows_are_kept_whatever_account_they_name(org_db, tmp_path):
    result = _import(org_db, tmp_path, "case_number,querier,query_date,purpose\nC1,nobody-we-know,2024-05-02,x\n")
    assert result.imported == 1 and _entries(org_db)[0].querier == "nobody-we-know"


@pytest.mark.clause("R6.1")
def test_r6_1_bad_register_rows_are_listed_and_reimport_adds_nothing(org_db, tmp_path):
    text = HEADER + "C1,dsw.user,2024-05-02,查核,\n,dsw.user,2024-05-02,查核,\nC3,dsw.user,someday,查核,\n"
    first = _import(org_db, tmp_path, text)
    assert first.imported == 1 and [r["line"] for r in first.rejected] == [3, 4]
    assert "case_number" in first.rejected[0]["reason"] and "query_date" in first.rejected[1]["reason"]
    again = _import(org_db, tmp_path, text)
    assert (again.imported, again.duplicates) == (0, 1) and len(_entries(org_db)) == 1


@pytest.mark.clause("R6.1")
def test_r6_1_register_file_without_purpose_column_is_refused(org_db, tmp_path):
    with pytest.raises(FileRefused, match="查詢目的"):
        _import(org_db, tmp_path, "案件編號,查詢人員,查詢日期\nC1,dsw.user,2024-05-02\n")
    assert _entries(org_db) == []


@pytest.mark.clause("R6.1")
def test_r6_1_entry_recorded_in_the_app_defaults_the_querier_to_the_recorder(org_db):
    with org_db.transaction() as session:
        agency, user = _people(session)
        entry = record_entry(session, agency, user, {"case_number": "C1", "query_time": "2024-05-02T10:00:00",
                                                     "purpose": "查核", "subject_id": "a1"})
        assert (entry.querier, entry.source, entry.recorded_by, entry.subject_id) == (
            "dsw.user", "web", "dsw.user", "A1")
        assert entry.queried_at == dt.datetime(2024, 5, 2, 2, 0, tzinfo=dt.UTC)


@pytest.mark.clause("R6.1")
def test_r6_1_corrections_are_new_entries_referencing_the_old_one(org_db):
    with org_db.transaction() as session:
        agency, user = _people(session)
        form = {"case_number": "C1", "query_time": "2024-05-02T10:00:00", "purpose": "查核"}
        old = record_entry(session, agency, user, form)
        fixed = record_entry(session, agency, user, {**form, "case_number": "C2"}, corrects=old.id)
        with pytest.raises(RegisterError, match="already corrected"):
            record_entry(session, agency, user, {**form, "case_number": "C3"}, corrects=old.id)
        withdrawn = record_entry(session, agency, user, {"purpose": "登錯 wrong entry"}, corrects=fixed.id,
                                 withdraw=True)
    entries = _entries(org_db)
    assert [e.case_number for e in entries] == ["C1", "C2", "C2"]  # nothing was changed in place
    assert entries[1].corrects_id == old.id and withdrawn.withdrawn and withdrawn.corrects_id == fixed.id


@pytest.mark.clause("R6.1")
def test_r6_1_invalid_or_repeated_entries_are_refused_naming_the_field(org_db):
    with org_db.transaction() as session:
        agency, user = _people(session)
        with pytest.raises(RegisterError) as missing:
            record_entry(session, agency, user, {"case_number": "C1", "purpose": "查核"})
        assert "query_date" in missing.value.fields
        form = {"case_number": "C1", "query_time": "2024-05-02T10:00:00", "purpose": "查核"}
        record_entry(session, agency, user, form)
        with pytest.raises(RegisterError, match="already recorded"):
            record_entry(session, agency, user, form)
        with pytest.raises(RegisterError, match="No register entry"):
            record_entry(session, agency, user, form, corrects=9999)
    with org_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RegisterEntry)) == 1
