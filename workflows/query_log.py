"""Import of WebIR query-log exports (R8.1.1) and the import machinery the register (Form 2) shares.

One import is one transaction: a file refused whole (FileRefused) or interrupted leaves nothing behind; a
well-formed file keeps its valid rows and reports each bad row by line and reason. Rows are inserted in
batches with ON CONFLICT DO NOTHING on the record's identity, so re-importing a file adds nothing twice.
The raw file is kept in the evidence store (R8.1.5) by its SHA-256 (workflows.evidence_files).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Table, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.db import Database
from engine.models import Agency
from workflows.evidence_files import evidence_path, keep_raw_file
from workflows.models_records import ImportedFile, QueryLogRecord
from workflows.org import agency_by_code
from workflows.tabular import (
    Column,
    Progress,
    RowInvalid,
    SourceFile,
    cell_text,
    epoch,
    inspect,
    parse_moment,
    read_table,
)

BATCH_ROWS = 2000
_SUBJECT = re.compile(r"[A-Z0-9*]+")
MAX_LISTED_REJECTIONS = 1000
ANALYZE_AFTER_ROWS = 50_000
SQLITE_IMPORT_CACHE_KIB = -131072  # 128 MiB: index maintenance of a million rows stays in memory

# INTERFACES.md "WebIR query-log file (import)": headers in Chinese or English (R8.1.1).
QUERY_LOG_COLUMNS = (
    Column("query_time", ("查詢時間", "query_time")),
    Column("account", ("查詢者帳號", "account")),
    Column("querier_name", ("查詢者姓名", "querier_name"), required=False),
    Column("subject_id", ("被查詢人身分證號", "subject_id")),
    Column("query_item", ("查詢項目", "query_item")),
    Column("case_number", ("案件編號", "case_number"), required=False),
    Column("source_ip", ("來源IP", "來源_IP", "source_ip"), required=False),
)


@dataclass(frozen=True)
class ImportFormat:
    """What one kind of file holds: its columns, the table its rows go to, and how a row becomes values."""

    kind: str
    columns: tuple[Column, ...]
    table: Table
    to_values: Callable[[dict], dict]  # raises RowInvalid
    stamp_column: str | None = None  # set to the import's time on every row


@dataclass
class ImportResult:
    """What an accepted import did: rows added, duplicates skipped, rejected rows by line."""

    file_id: int
    sha256: str
    imported: int = 0
    duplicates: int = 0
    rejected_total: int = 0
    rejected: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"imported": self.imported, "duplicates": self.duplicates, "rejected": self.rejected,
                "rejected_total": self.rejected_total, "file_id": self.file_id, "sha256": self.sha256}


def subject_text(value: object, label: str = "被查詢人身分證號 subject_id", required: bool = True) -> str | None:
    """A subject's national id, upper-cased, letters and digits (and * of masked exports) only."""
    text = cell_text(value, 20, label, required)
    if text is None:
        return None
    text = text.upper()
    if not _SUBJECT.fullmatch(text):
        raise RowInvalid(f"{label} '{text}' 只能含英數字 may hold only letters and digits")
    return text


def query_log_values(cells: dict) -> dict:
    """A query-log row as column values (R8.1.1); a query log always has a time of day."""
    moment, date_only = parse_moment(cells.get("query_time"), "查詢時間 query_time")
    if date_only:
        raise RowInvalid("查詢時間 query_time 缺少時分秒 has no time of day")
    return {
        "queried_at": moment, "query_ts": epoch(moment),
        "account": cell_text(cells.get("account"), 64, "查詢者帳號 account"),
        "querier_name": cell_text(cells.get("querier_name"), 100, "查詢者姓名 querier_name", required=False),
        "subject_id": subject_text(cells.get("subject_id")),
        "query_item": cell_text(cells.get("query_item"), 100, "查詢項目 query_item"),
        "case_number": cell_text(cells.get("case_number"), 64, "案件編號 case_number", required=False) or "",
        "source_ip": cell_text(cells.get("source_ip"), 45, "來源IP source_ip", required=False),
    }


QUERY_LOG_FORMAT = ImportFormat("query_log", QUERY_LOG_COLUMNS, QueryLogRecord.__table__, query_log_values)


def import_query_log(db: Database, path: Path, agency_code: str, evidence_root: Path, filename: str | None = None,
                     actor: str | None = None, progress: Progress | None = None) -> ImportResult:
    """Import a WebIR query-log export (CSV or XLSX) for an agency, in one transaction (R8.1.1)."""
    return run_import(db, QUERY_LOG_FORMAT, path, agency_code, evidence_root, filename, actor, progress)


def run_import(db: Database, fmt: ImportFormat, path: Path, agency_code: str, evidence_root: Path,
               filename: str | None = None, actor: str | None = None,
               progress: Progress | None = None) -> ImportResult:
    """Inspect the file (refused whole when malformed), then load its rows and keep the file, in ONE transaction."""
    source = inspect(Path(path))
    created: list[Path] = []
    try:
        with db.transaction() as session:
            agency = agency_by_code(session, (agency_code or "").strip().upper())
            result = import_in_session(session, fmt, source, agency, evidence_root, filename or Path(path).name,
                                       actor, progress, created)
    except BaseException:
        for path_written in created:
            path_written.unlink(missing_ok=True)
        raise
    return result


def import_in_session(session: Session, fmt: ImportFormat, source: SourceFile, agency: Agency, evidence_root: Path,
                      filename: str, actor: str | None = None, progress: Progress | None = None,
                      created: list[Path] | None = None) -> ImportResult:
    """Load an inspected file's rows and keep the file inside the caller's transaction (a process's service
    task imports an uploaded file this way); paths this wrote are appended to `created`."""
    record = ImportedFile(agency_id=agency.id, kind=fmt.kind, filename=filename[:255], sha256=source.sha256,
                          size_bytes=source.size, stored_path="", file_format=source.file_format,
                          imported_at=clock.now(), imported_by=actor)
    session.add(record)
    session.flush()
    with _bulk_cache(session):
        result = _load_rows(session, fmt, source, agency.id, record.id, progress)
    evidence, written = keep_raw_file(session, source, evidence_root, fmt.kind, agency.id, actor, record.filename)
    if written is not None and created is not None:
        created.append(written)
    record.evidence_file_id = evidence.id
    record.stored_path = evidence_path(Path("."), source.sha256).as_posix()
    record.rows_imported, record.rows_duplicate = result.imported, result.duplicates
    record.rows_rejected, record.rejected = result.rejected_total, result.rejected
    audit.record(session, f"{fmt.kind}_imported", actor, agency=agency.code, file=record.filename,
                 sha256=source.sha256, imported=result.imported, duplicates=result.duplicates,
                 rejected=result.rejected_total)
    return result


def _load_rows(session: Session, fmt: ImportFormat, source: SourceFile, agency_id: int, file_id: int,
               progress: Progress | None) -> ImportResult:
    result = ImportResult(file_id=file_id, sha256=source.sha256)
    common = {"agency_id": agency_id, "file_id": file_id} | ({fmt.stamp_column: clock.now()} if fmt.stamp_column
                                                             else {})
    batch: list[dict] = []
    valid = 0
    for line, cells in read_table(source, fmt.columns, progress):
        try:
            values = fmt.to_values(cells)
        except RowInvalid as exc:
            result.rejected_total += 1
            if len(result.rejected) < MAX_LISTED_REJECTIONS:
                result.rejected.append({"line": line, "reason": str(exc)})
            continue
        values.update(common, line=line)
        batch.append(values)
        valid += 1
        if len(batch) >= BATCH_ROWS:
            insert_new(session, fmt.table, batch)
            batch = []
    if batch:
        insert_new(session, fmt.table, batch)
    # Rows this import added carry its file id (a skipped duplicate keeps the id of the import that brought it).
    result.imported = session.execute(select(func.count()).select_from(fmt.table)
                                      .where(fmt.table.c.file_id == file_id)).scalar()
    result.duplicates = valid - result.imported
    if result.imported >= ANALYZE_AFTER_ROWS and session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {fmt.table.name}"))  # fresh statistics for the reconciliation's joins
    return result


def insert_new(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert rows, skipping those whose identity is already stored (or repeated in the batch)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(table).on_conflict_do_nothing(), rows)


@contextlib.contextmanager
def _bulk_cache(session: Session):
    """SQLite: a larger page cache while one import maintains its indexes (per connection, restored after)."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    before = session.execute(text("PRAGMA cache_size")).scalar()
    session.execute(text(f"PRAGMA cache_size = {SQLITE_IMPORT_CACHE_KIB}"))
    try:
        yield
    finally:
        session.execute(text(f"PRAGMA cache_size = {int(before)}"))
