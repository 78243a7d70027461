"""WebIR query-log import (R8.1.1, R8.1.5): formats, ROC dates, bad rows by line, whole-file refusals, evidence."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from engine.models import EvidenceFile
from workflows import demo, query_log
from workflows.models_records import ImportedFile, QueryLogRecord
from workflows.query_log import import_query_log
from workflows.tabular import FileRefused

ZH = "查詢時間,查詢者帳號,查詢者姓名,被查詢人身分證號,查詢項目,案件編號,來源IP\n"
EN = "query_time,account,subject_id,query_item\n"


@pytest.fixture
def org_db(db):
    """The demo organisation (the records need no process model)."""
    with db.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
    return db


def _import(db, tmp_path, content: bytes | str, name="log.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return import_query_log(db, path, "DSW", tmp_path / "evidence", actor="test")


def _records(db) -> list[QueryLogRecord]:
    with db.sessions() as session:
        return list(session.scalars(select(QueryLogRecord).order_by(QueryLogRecord.line)))


def _nothing_stored(db, tmp_path) -> bool:
    with db.sessions() as session:
        files = session.scalar(select(func.count()).select_from(ImportedFile))
        rows = session.scalar(select(func.count()).select_from(QueryLogRecord))
        kept = session.scalar(select(func.count()).select_from(EvidenceFile))
    evidence = tmp_path / "evidence"
    return files == rows == kept == 0 and not any(p.is_file() for p in evidence.rglob("*"))


@pytest.mark.clause("R8.1.1")
def test_r8_1_1_chinese_headers_with_bom_and_roc_times_read_as_taipei(org_db, tmp_path):
    result = _import(org_db, tmp_path, "\ufeff" + ZH + "113/05/02 14:03:11,dsw.user,周使用者,a123456789,投保資料,"
                     "C-1,10.1.2.3\n")
    assert (result.imported, result.rejected) == (1, [])
    record = _records(org_db)[0]
    assert record.queried_at == dt.datetime(2024, 5, 2, 6, 3, 11, tzinfo=dt.UTC)
    assert (record.account, record.subject_id, record.case_number, record.source_ip, record.line) == (
        "dsw.user", "A123456789", "C-1", "10.1.2.3", 2)


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-05-02T14:03:11", dt.datetime(2024, 5, 2, 6, 3, 11, tzinfo=dt.UTC)),
    ("2024-05-02T14:03:11+00:00", dt.datetime(2024, 5, 2, 14, 3, 11, tzinfo=dt.UTC)),
    ("2024/05/02 14:03:11", dt.datetime(2024, 5, 2, 6, 3, 11, tzinfo=dt.UTC)),
    ("113/5/2 14:03:11", dt.datetime(2024, 5, 2, 6, 3, 11, tzinfo=dt.UTC)),
])
@pytest.mark.clause("R8.1.1")
def test_r8_1_1_english_headers_and_every_time_format(org_db, tmp_path, text, expected):
    result = _import(org_db, tmp_path, EN + f"{text},amy,A1,item\n")
    assert result.imported == 1 and _records(org_db)[0].queried_at == expected


@pytest.mark.clause("R8.1.1")
def test_r8_1_1_big5_csv_is_read(org_db, tmp_path):
    result = _import(org_db, tmp_path, ZH + "2024/05/02 09:00:00,dsw.user,周使用者,A1,勞保投保資料,,\n",
                     encoding="cp950")
    assert result.imported == 1 and _records(org_db)[0].query_item == "勞保投保資料"
    with org_db.sessions() as session:
        assert session.scalar(select(ImportedFile.file_format)) == "csv-big5"


@pytest.mark.clause("R8.1.1")
def test_r8_1_1_xlsx_with_date_cells_and_text_cells(org_db, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["查詢時間", "查詢者帳號", "被查詢人身分證號", "查詢項目", "案件編號"])
    sheet.append([dt.datetime(2024, 5, 2, 14, 3, 11), "dsw.user", "A1", "投保", 12345])
    sheet.append(["113/05/03 10:00:00", "dsw.user", "A2", "投保", None])
    sheet.append(["not a time", "dsw.user", "A3", "投保", None])
    sheet.append([45415.25, "dsw.user", "A4", "投保", None])  # a date cell formatted as a number: 2024-05-03 06:00
    book.save(tmp_path / "log.xlsx")
    result = import_query_log(org_db, tmp_path / "log.xlsx", "DSW", tmp_path / "evidence")
    assert result.imported == 3 and [r["line"] for r in result.rejected] == [4]
    first, second, serial = _records(org_db)
    assert serial.queried_at == dt.datetime(2024, 5, 2, 22, 0, tzinfo=dt.UTC)
    assert first.queried_at == dt.datetime(2024, 5, 2, 6, 3, 11, tzinfo=dt.UTC) and first.case_number == "12345"
    assert second.queried_at == dt.datetime(2024, 5, 3, 2, 0, tzinfo=dt.UTC)


def test_bad_rows_are_listed_by_line_with_reason_and_good_rows_kept(org_db, tmp_path):
    result = _import(org_db, tmp_path, EN + "2024-05-02 10:00:00,amy,A1,x\n"
                     "2024-02-30 10:00:00,amy,A2,x\n"
                     "2024-05-02 10:00:00,,A3,x\n"
                     "2024-05-02,amy,A4,x\n"
                     "\n"
                     "2024-05-02 11:00:00,amy,A5,x\n")
    assert result.imported == 2
    assert [r["line"] for r in result.rejected] == [3, 4, 5]
    reasons = " ".join(r["reason"] for r in result.rejected)
    assert "not a real date-time" in reasons and "account" in reasons and "no time of day" in reasons


def test_duplicates_count_once_and_reimport_adds_nothing(org_db, tmp_path):
    rows = EN + "2024-05-02 10:00:00,amy,A1,x\n2024-05-02 10:00:00,amy,A1,x\n2024-05-02 10:00:00,amy,A1,y\n"
    first = _import(org_db, tmp_path, rows)
    assert (first.imported, first.duplicates) == (2, 1)
    again = _import(org_db, tmp_path, rows)
    assert (again.imported, again.duplicates) == (0, 3)
    assert len(_records(org_db)) == 2


@pytest.mark.clause("R8.1.5")
def test_r8_1_5_raw_file_is_kept_as_evidence_with_its_sha256(org_db, tmp_path):
    content = (EN + "2024-05-02 10:00:00,amy,A1,x\n").encode()
    result = _import(org_db, tmp_path, content)
    assert result.sha256 == hashlib.sha256(content).hexdigest()
    with org_db.sessions() as session:
        stored = session.scalar(select(ImportedFile))
    assert (tmp_path / "evidence" / stored.stored_path).read_bytes() == content
    assert stored.sha256 == result.sha256 and stored.rows_imported == 1 and stored.imported_by == "test"
    with org_db.sessions() as session:
        kept = session.get(EvidenceFile, stored.evidence_file_id)
    assert (kept.sha256, kept.retention_class, kept.size) == (result.sha256, "query_log", len(content))
    assert kept.retain_until is not None  # R7.3: kept three years, then disposition (R7.4) may destroy it


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty"),
    (b"query_time;account\n2024-05-02;amy\n", "Missing header column"),
    (EN.replace("account", "who").encode() + b"2024-05-02 10:00:00,amy,A1,x\n", "account"),
    (b"Dear colleague, here is the log you asked for.\nRegards\n", "Missing header column"),
    (b"caf\xe9,ol\xe9\n", "neither UTF-8 nor Big5"),
    ("query_time,account\n".encode("utf-16"), "UTF-16"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, ".xls"),
    (b"PK\x03\x04 this is not a workbook", "XLSX"),
    (b"query_time,account,subject_id,query_item\n\x00\x01\x02", "Binary data"),
])
def test_malformed_files_are_refused_whole_with_a_reason(org_db, tmp_path, content, reason):
    with pytest.raises(FileRefused, match=reason.replace(".", r"\.")):
        _import(org_db, tmp_path, content)
    assert _nothing_stored(org_db, tmp_path)


def test_fifty_megabytes_of_garbage_are_refused_whole(org_db, tmp_path):
    with pytest.raises(FileRefused):
        _import(org_db, tmp_path, os.urandom(50 * 1024 * 1024), name="garbage.csv")
    assert _nothing_stored(org_db, tmp_path)


def test_interrupted_import_leaves_nothing_behind(org_db, tmp_path, monkeypatch):
    monkeypatch.setattr(query_log, "BATCH_ROWS", 2)
    calls = []
    real = query_log.insert_new

    def crash_on_second_batch(session, table, rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(session, table, rows)

    monkeypatch.setattr(query_log, "insert_new", crash_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        _import(org_db, tmp_path, EN + "".join(f"2024-05-02 10:00:0{i},amy,A{i},x\n" for i in range(5)))
    assert _nothing_stored(org_db, tmp_path)


def test_unknown_agency_is_refused(org_db, tmp_path):
    (tmp_path / "l.csv").write_text(EN + "2024-05-02 10:00:00,amy,A1,x\n")
    with pytest.raises(ValueError, match="NOPE"):
        import_query_log(org_db, tmp_path / "l.csv", "NOPE", tmp_path / "evidence")
    assert _nothing_stored(org_db, tmp_path)


def test_progress_is_reported_up_to_the_file_size(org_db, tmp_path):
    path = tmp_path / "l.csv"
    path.write_text(EN + "".join(f"2024-05-02 10:{i // 60:02d}:{i % 60:02d},amy,A{i},x\n" for i in range(5000)))
    seen = []
    import_query_log(org_db, path, "DSW", tmp_path / "evidence", progress=seen.append)
    assert seen and seen[-1] == path.stat().st_size and seen == sorted(seen)
