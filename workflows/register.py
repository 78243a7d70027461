"""The query register, Form 2 (R6.1): entries recorded in the app or imported from a file, append-only.

A correction is a new entry that names the entry it corrects (`corrects_id`); a withdrawal is a correction
that cancels it. The reconciliation reads only the effective entries: neither corrected nor withdrawn.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, calendar, clock
from engine.db import Database
from engine.models import Agency, User
from workflows.access import holds_role
from workflows.models_accounts import ProxyAuthorization
from workflows.models_records import RegisterEntry
from workflows.proxy_query_authorization import active_proxy_authorization
from workflows.query_log import ImportFormat, ImportResult, run_import, subject_text
from workflows.tabular import Column, Progress, RowInvalid, cell_text, epoch, parse_moment

# INTERFACES.md "Register (Form 2) file"; the optional query item is Form 2's optional field (CLAUSES.md).
REGISTER_COLUMNS = (
    Column("case_number", ("案件編號", "case_number")),
    Column("querier", ("查詢人員", "querier")),
    Column("query_date", ("查詢日期", "query_date")),
    Column("purpose", ("查詢目的", "purpose")),
    Column("subject_id", ("被查詢人身分證號", "subject_id"), required=False),
    Column("query_item", ("查詢項目", "query_item"), required=False),
)


class RegisterError(ValueError):
    """A register entry the app refuses; `fields` names each wrong field."""

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.fields = fields or {}


class NotAWebIRUser(RegisterError):
    """The recorder holds no WebIR `user` role in the agency now (never granted, or revoked: R5.4, R6.4)."""


WEBIR_ROLE = "user"


def fingerprint(values: dict) -> str:
    """SHA-256 of what an entry says: the same entry recorded twice (or re-imported) is stored once."""
    parts = [values["case_number"], values["querier"], str(values["window_start_ts"]), str(values["date_only"]),
             values["purpose"], values["subject_id"], values.get("query_item") or "",
             str(values.get("corrects_id") or ""), str(values.get("withdrawn", False))]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def entry_values(cells: dict, source: str = "file") -> dict:
    """A Form 2 row as column values; a date without a time covers that whole local day (R6.1)."""
    moment, date_only = parse_moment(cells.get("query_date"), "查詢日期 query_date")
    start, end = moment, moment
    if date_only:
        day = moment.astimezone(clock.zone()).date()
        start, end = calendar.start_of_day(day), calendar.end_of_day(day)
    values = {
        "case_number": cell_text(cells.get("case_number"), 64, "案件編號 case_number"),
        "querier": cell_text(cells.get("querier"), 64, "查詢人員 querier"),
        "queried_at": start, "date_only": date_only, "window_start_ts": epoch(start), "window_end_ts": epoch(end),
        "purpose": cell_text(cells.get("purpose"), 2000, "查詢目的 purpose"),
        "subject_id": subject_text(cells.get("subject_id"), required=False) or "",
        "query_item": cell_text(cells.get("query_item"), 100, "查詢項目 query_item", required=False),
        "source": source,
    }
    values["fingerprint"] = fingerprint(values)
    return values


REGISTER_FORMAT = ImportFormat("register", REGISTER_COLUMNS, RegisterEntry.__table__, entry_values, "recorded_at")


def import_register(db: Database, path: Path, agency_code: str, evidence_root: Path, filename: str | None = None,
                    actor: str | None = None, progress: Progress | None = None) -> ImportResult:
    """Import Form 2 entries from a CSV or XLSX file in one transaction; rows are kept whatever account they name."""
    return run_import(db, REGISTER_FORMAT, path, agency_code, evidence_root, filename, actor, progress)


def record_entry(session: Session, agency: Agency, recorded_by: User, form: dict, source: str = "web",
                 corrects: int | None = None, withdraw: bool = False,
                 proxy_authorization: int | None = None) -> RegisterEntry:
    """Record one Form 2 entry from the app (R6.1); `corrects` appends a correction of an earlier entry;
    `proxy_authorization` names the Form 3 (R6.2) under which the recorder queried for someone else."""
    if not holds_role(session, recorded_by.id, agency.id, WEBIR_ROLE):
        raise NotAWebIRUser(f"{recorded_by.username} 目前沒有 {agency.code} 的 WebIR 帳號，不能登記查詢 holds no WebIR "
                            f"account in {agency.code} now (never granted or revoked) and cannot register queries")
    cells = {"querier": recorded_by.username, **{k: v for k, v in form.items() if v not in (None, "")}}
    if "query_time" in cells and "query_date" not in cells:
        cells["query_date"] = cells["query_time"]
    old = _correctable(session, agency, corrects) if corrects is not None else None
    if withdraw:
        if old is None:
            raise RegisterError("withdrawing needs the entry to withdraw", {"corrects": "required to withdraw"})
        cells = {**_cells_of(old), "purpose": form.get("purpose") or old.purpose}
    try:
        values = entry_values(cells, source)
    except RowInvalid as exc:
        raise RegisterError(str(exc), {_field_of(str(exc)): str(exc)}) from None
    values.update(corrects_id=old.id if old else None, withdrawn=withdraw)
    if proxy_authorization is not None:
        values["proxy_authorization_id"] = _proxy_in_force(session, agency, recorded_by, values,
                                                           proxy_authorization)
    values["fingerprint"] = fingerprint(values)
    existing = session.scalar(select(RegisterEntry.id).where(RegisterEntry.agency_id == agency.id,
                                                             RegisterEntry.fingerprint == values["fingerprint"]))
    if existing:
        raise RegisterError(f"這筆登記已存在 The same entry is already recorded (entry {existing})")
    entry = RegisterEntry(agency_id=agency.id, recorded_by=recorded_by.username, recorded_at=clock.now(), **values)
    session.add(entry)
    session.flush()
    audit.record(session, "register_entry_recorded", recorded_by.username, agency=agency.code, entry=entry.id,
                 corrects=entry.corrects_id, withdrawn=withdraw, clause="R6.1")
    return entry


def _proxy_in_force(session: Session, agency: Agency, proxy: User, values: dict, authorization_id: int) -> int:
    """The Form 3 must let the recorder query this case for its authorising user at the query time (R6.2)."""
    record = session.get(ProxyAuthorization, authorization_id)
    if record is None or record.agency_id != agency.id or record.proxy_user_id != proxy.id:
        raise RegisterError(f"找不到代查授權書 No proxy authorisation (Form 3) {authorization_id} naming you as proxy",
                            {"proxy_authorization": "not found"})
    active = active_proxy_authorization(session, record.authorising_user_id, proxy.id, values["case_number"],
                                        values["queried_at"])
    if active is None or active.id != record.id:
        raise RegisterError(f"代查授權書 {authorization_id} 於查詢時未生效或案號不符 Form 3 {authorization_id} was "
                            "not in force for this case at the query time (filed, within its dates, same case number)",
                            {"proxy_authorization": "not in force for this case and time"})
    return record.id


def _correctable(session: Session, agency: Agency, entry_id: int) -> RegisterEntry:
    """The entry to correct: of this agency, and not already corrected (correct the newest version instead)."""
    old = session.get(RegisterEntry, entry_id)
    if old is None or old.agency_id != agency.id:
        raise RegisterError(f"找不到登記 No register entry {entry_id} in {agency.code}", {"corrects": "not found"})
    newer = session.scalar(select(RegisterEntry.id).where(RegisterEntry.corrects_id == old.id))
    if newer:
        raise RegisterError(f"登記 {old.id} 已由 {newer} 更正 Entry {old.id} was already corrected by entry {newer}; "
                            "correct that one", {"corrects": f"already corrected by {newer}"})
    if old.withdrawn:
        raise RegisterError(f"登記 {old.id} 已撤回 Entry {old.id} is a withdrawal", {"corrects": "withdrawn"})
    return old


def _cells_of(entry: RegisterEntry) -> dict:
    when = entry.queried_at.astimezone(clock.zone())
    return {"case_number": entry.case_number, "querier": entry.querier, "subject_id": entry.subject_id,
            "query_item": entry.query_item, "purpose": entry.purpose,
            "query_date": when.date() if entry.date_only else when}


def _field_of(message: str) -> str:
    for name in ("case_number", "querier", "query_date", "purpose", "subject_id", "query_item"):
        if name in message:
            return name
    return "form"


def effective_entries(session: Session, agency_id: int, since: dt.datetime, until: dt.datetime) -> list[RegisterEntry]:
    """An agency's effective entries (not corrected, not withdrawn) whose query time falls in [since, until)."""
    corrected = select(RegisterEntry.corrects_id).where(RegisterEntry.corrects_id.is_not(None))
    return list(session.scalars(select(RegisterEntry).where(
        RegisterEntry.agency_id == agency_id, RegisterEntry.withdrawn.is_(False),
        RegisterEntry.id.not_in(corrected), RegisterEntry.window_start_ts >= epoch(since),
        RegisterEntry.window_start_ts < epoch(until)).order_by(RegisterEntry.window_start_ts)))
