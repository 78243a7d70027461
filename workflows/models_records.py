"""Tables of the query records: imported files (evidence), WebIR query logs, the register (Form 2), findings.

Times are kept twice: as aware UTC timestamps for people, and as integer epoch seconds (`*_ts`) so the
reconciliation's time windows are plain integer comparisons on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow


class ImportedFile(Base):
    """One accepted import of a query-log or register file; the raw bytes are kept by SHA-256 (R8.1.1, R8.1.5)."""

    __tablename__ = "imported_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # query_log | register
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    stored_path: Mapped[str] = mapped_column(String(500))  # relative to the instance folder
    evidence_file_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_file.id"), index=True)
    file_format: Mapped[str] = mapped_column(String(20))  # csv-utf-8 | csv-big5 | xlsx
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[str | None] = mapped_column(String(64))
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[list] = mapped_column(default=list)  # the first rejected lines: [{line, reason}]


class QueryLogRecord(Base):
    """One query WebIR logged (R8.1.1); identity (agency, time, account, subject, item, case) is unique."""

    __tablename__ = "query_log_record"
    __table_args__ = (
        # The identity also serves (and covers) the reconciliation's scan of an agency's month.
        UniqueConstraint("agency_id", "query_ts", "account", "subject_id", "query_item", "case_number",
                         name="uq_query_log_record_identity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("imported_file.id"), index=True)
    line: Mapped[int | None] = mapped_column(Integer)
    queried_at: Mapped[dt.datetime] = mapped_column()
    query_ts: Mapped[int] = mapped_column(BigInteger)
    account: Mapped[str] = mapped_column(String(64))
    querier_name: Mapped[str | None] = mapped_column(String(100))
    subject_id: Mapped[str] = mapped_column(String(20))
    query_item: Mapped[str] = mapped_column(String(100))
    case_number: Mapped[str] = mapped_column(String(64), default="")  # "" when the log has none
    source_ip: Mapped[str | None] = mapped_column(String(45))


class RegisterEntry(Base):
    """A line of the query register, Form 2 (R6.1): append-only; a correction is a new entry naming the old one."""

    # window_start_ts/window_end_ts bound when the query happened: equal for a date-time, the whole local day
    # for a date-only entry.

    __tablename__ = "register_entry"
    __table_args__ = (
        UniqueConstraint("agency_id", "fingerprint", name="uq_register_entry_fingerprint"),
        # Covering the reconciliation's pairing by case (no table lookups), and its scan of a month.
        Index("ix_register_entry_case", "agency_id", "case_number", "window_start_ts", "window_end_ts",
              "subject_id", "withdrawn", "querier"),
        Index("ix_register_entry_subject", "agency_id", "subject_id", "window_start_ts"),
        Index("ix_register_entry_period", "agency_id", "window_start_ts", "withdrawn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    case_number: Mapped[str] = mapped_column(String(64))
    querier: Mapped[str] = mapped_column(String(64))  # the account written on the register, kept as written
    queried_at: Mapped[dt.datetime] = mapped_column()
    date_only: Mapped[bool] = mapped_column(Boolean, default=False)
    window_start_ts: Mapped[int] = mapped_column(BigInteger)
    window_end_ts: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(Text)
    subject_id: Mapped[str] = mapped_column(String(20), default="")  # "" when not written
    query_item: Mapped[str | None] = mapped_column(String(100))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("register_entry.id"), index=True)
    # Form 3 (R6.2) under which the recorder queried for someone else, when given.
    proxy_authorization_id: Mapped[int | None] = mapped_column(ForeignKey("proxy_authorization.id"), index=True)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)  # a correction that cancels the old entry
    source: Mapped[str] = mapped_column(String(10))  # web | file | api
    file_id: Mapped[int | None] = mapped_column(ForeignKey("imported_file.id"), index=True)
    line: Mapped[int | None] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AgencyOfficeHours(Base):
    """An agency's office hours for the off-hours check (R6.3); agencies without a row use Mon-Fri 08:00-18:00."""

    __tablename__ = "agency_office_hours"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)
    opens: Mapped[str] = mapped_column(String(5), default="08:00")
    closes: Mapped[str] = mapped_column(String(5), default="18:00")
    make_up_working_days: Mapped[list] = mapped_column(default=list)  # ISO dates worked although weekend
    extra_holidays: Mapped[list] = mapped_column(default=list)  # ISO dates off although working days


class AgencyRecordSetting(Base):
    """How an agency compares its register with the query log: the monthly count (R3.3, default) or one by one
    (R3.4, R6.6), which lets `monthly_register_check` skip the unit admins' manual count steps."""

    __tablename__ = "agency_record_setting"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)
    per_record_method: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(String(64))


class ReconciliationRun(Base):
    """One per-record reconciliation of an agency's month (R3.4, R6.6, R8.1.2) with its counts."""

    __tablename__ = "reconciliation_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    tolerance_seconds: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict] = mapped_column(default=dict)
    log_records: Mapped[int] = mapped_column(Integer, default=0)
    register_entries: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    run_by: Mapped[str | None] = mapped_column(String(64))


class ReconciliationFinding(Base):
    """A record that needs an explanation (R6.1): every class but `matched`, and every flag."""

    __tablename__ = "reconciliation_finding"
    __table_args__ = (Index("ix_reconciliation_finding_run", "run_id", "finding_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_run.id"))
    finding_type: Mapped[str] = mapped_column(String(30))
    log_record_id: Mapped[int | None] = mapped_column(ForeignKey("query_log_record.id"), index=True)
    register_entry_id: Mapped[int | None] = mapped_column(ForeignKey("register_entry.id"), index=True)
    account: Mapped[str | None] = mapped_column(String(64))
    explanation_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    explanation: Mapped[str | None] = mapped_column(Text)
    explained_by: Mapped[str | None] = mapped_column(String(64))
    explained_at: Mapped[dt.datetime | None] = mapped_column()
    review_decision: Mapped[str | None] = mapped_column(String(30))  # accepted | suspected_improper
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
