"""Records disposition (R7.1-R7.4): every year list the agency's records whose retention has passed, have the head
approve the list, then destroy each listed record that is still destroyable and not under legal hold, keeping a
disposition record per item (what, when, who, SHA-256 of what was destroyed).

Records: Form 1-2 applications from 3 years after the account's revocation (R7.2); evidence files after their
retention date: audit records and evidence packages, query logs and registers (3 years, R7.3); destroying a
query-log file also erases the subject ids of the query-log records read from it (query data no longer
needed, R7.1). A legal hold (reason required, agency admin or audit teams, audited) blocks destruction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import String, cast, delete, literal, select, update
from sqlalchemy.orm import Session

from engine import audit, clock, evidence
from engine.assignment import holds_master_role
from engine.calendar import local_date
from engine.models import EvidenceFile, ProcessInstance, User
from engine.scripts import REGISTRY, ServiceCall
from engine.settings import instance_path
from workflows.access import holds_role
from workflows.clauses import implements
from workflows.models import AccountApplication
from workflows.models_disposition import DispositionItem, DispositionStatus, RecordKind
from workflows.models_records import ImportedFile, QueryLogRecord

SHOWN_ITEMS = 30  # items shown in the task's instructions; the whole list is in `disposition_item`
OPEN = (DispositionStatus.LISTED, DispositionStatus.HELD)
HOLD_ROLES = ("agency_admin", "agency_audit")  # of the record's agency; master_audit / master_admin for any


def may_hold(session: Session, user_id: int, agency_id: int) -> bool:
    """Who may set or clear a legal hold on an agency's records: its admin or audit team, or a master role."""
    return holds_master_role(session, user_id) or any(holds_role(session, user_id, agency_id, r) for r in HOLD_ROLES)


class DispositionError(ValueError):
    """A request the disposition refuses; the message says why."""


def _actor(ctx) -> str:
    return ctx.actor.username if ctx.actor else "system"


def _due_forms(session: Session, agency_id: int, today: dt.date) -> list[AccountApplication]:
    """Form 1-2 of revoked accounts whose earliest destruction date has come (R7.2), not yet destroyed."""
    return list(session.scalars(select(AccountApplication).where(
        AccountApplication.agency_id == agency_id, AccountApplication.destroyed_at.is_(None),
        AccountApplication.destroy_not_before.is_not(None), AccountApplication.destroy_not_before <= today)
        .order_by(AccountApplication.id)))


def _due_evidence(session: Session, agency_id: int, today: dt.date) -> list[EvidenceFile]:
    """Evidence files past their retention date (R7.1, R7.3), not yet destroyed, held ones included."""
    return list(session.scalars(select(EvidenceFile).where(
        EvidenceFile.agency_id == agency_id, EvidenceFile.destroyed_at.is_(None),
        EvidenceFile.retain_until.is_not(None), EvidenceFile.retain_until < today).order_by(EvidenceFile.id)))


def _form_item(session: Session, form: AccountApplication) -> dict:
    user = session.get(User, form.user_id)
    return {"record_kind": RecordKind.APPLICATION_FORM, "record_id": form.id, "retention_class": "application_form",
            "description": f"Form 1-2 #{form.id} {user.username if user else ''} 註銷 revoked {form.revoked_on}",
            "retain_until": form.destroy_not_before, "held": form.legal_hold, "hold_reason": form.hold_reason}


def _evidence_item(row: EvidenceFile) -> dict:
    return {"record_kind": RecordKind.EVIDENCE_FILE, "record_id": row.id, "retention_class": row.retention_class,
            "description": f"{row.retention_class} #{row.id} {row.filename}"[:400],
            "retain_until": row.retain_until, "held": row.legal_hold, "hold_reason": row.hold_reason}


@implements("R7.1", "R7.2", "R7.3", "R7.4")
def list_due_records(session: Session, instance: ProcessInstance, actor: str) -> list[DispositionItem]:
    """The disposition list of an instance, made anew (a returned list is listed again)."""
    session.execute(delete(DispositionItem).where(DispositionItem.instance_id == instance.id,
                                                  DispositionItem.status.in_(OPEN)))
    today = local_date(clock.now())
    found = [_form_item(session, f) for f in _due_forms(session, instance.agency_id, today)]
    found += [_evidence_item(e) for e in _due_evidence(session, instance.agency_id, today)]
    items = []
    for item in found:
        held = item.pop("held")
        items.append(DispositionItem(instance_id=instance.id, agency_id=instance.agency_id, listed_at=clock.now(),
                                     status=DispositionStatus.HELD if held else DispositionStatus.LISTED, **item))
    session.add_all(items)
    session.flush()
    audit.record(session, "disposition_listed", actor, instance.id, clause="R7.4", listed=len(items),
                 held=sum(i.status == DispositionStatus.HELD for i in items))
    return items


def _view(item: DispositionItem) -> dict:
    return {"id": item.id, "what": item.description, "retain_until": item.retain_until.isoformat(),
            "status": item.status, "hold_reason": item.hold_reason or ""}


def list_records_past_retention(call: ServiceCall) -> dict:
    """Service task `list_records_past_retention`: the list for the admin and the head (counts + first items)."""
    ctx = call.context
    items = list_due_records(ctx.session, ctx.instance, _actor(ctx))
    count = {kind: sum(i.record_kind == kind for i in items) for kind in RecordKind}
    return {"total": len(items), "to_destroy": sum(i.status == DispositionStatus.LISTED for i in items),
            "held": sum(i.status == DispositionStatus.HELD for i in items),
            "application_forms": count[RecordKind.APPLICATION_FORM], "evidence_files": count[RecordKind.EVIDENCE_FILE],
            "items": [_view(i) for i in items[:SHOWN_ITEMS]], "more": max(0, len(items) - SHOWN_ITEMS)}


def form_digest(form: dict) -> str:
    """SHA-256 of a filed form's content (canonical JSON), recorded before the content is erased."""
    return hashlib.sha256(json.dumps(form, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def _destroy_form(session: Session, item: DispositionItem, form: AccountApplication, actor: str) -> None:
    item.sha256 = form_digest(form.form or {})
    form.form, form.egov_account, form.destroyed_at = {}, None, clock.now()
    audit.record(session, "application_form_destroyed", actor, item.instance_id, application_id=form.id,
                 sha256=item.sha256, clause="R7.2,R7.4")


def _erase_query_data(session: Session, evidence_id: int) -> int:
    """R7.1: the subject ids of query-log records read from a destroyed file are erased (each row stays unique)."""
    files = select(ImportedFile.id).where(ImportedFile.evidence_file_id == evidence_id).scalar_subquery()
    result = session.execute(update(QueryLogRecord).where(QueryLogRecord.file_id.in_(files))
                             .values(subject_id=literal("#") + cast(QueryLogRecord.id, String)))
    return result.rowcount or 0


def _destroy_evidence(session: Session, item: DispositionItem, row: EvidenceFile, actor: str) -> None:
    evidence.destroy(session, instance_path(), row, actor, item.instance_id)
    item.sha256 = row.sha256
    if row.retention_class == "query_log":
        erased = _erase_query_data(session, row.id)
        item.note = f"{erased} 筆查詢紀錄之身分證號已抹除 query-log records' subject ids erased"


def _still_destroyable(record, kind: str, today: dt.date) -> str:
    """"" when the record may be destroyed now, else why not (the list was approved earlier)."""
    if record is None or record.destroyed_at is not None:
        return "已銷毀或不存在 already destroyed or gone"
    until = record.destroy_not_before if kind == RecordKind.APPLICATION_FORM else record.retain_until
    passed = until is not None and (until <= today if kind == RecordKind.APPLICATION_FORM else until < today)
    return "" if passed else f"保存期限未屆 retention runs until {until}"


def _destroy_item(session: Session, item: DispositionItem, actor: str, today: dt.date) -> None:
    model = AccountApplication if item.record_kind == RecordKind.APPLICATION_FORM else EvidenceFile
    record = session.get(model, item.record_id, with_for_update=True)
    why_not = _still_destroyable(record, item.record_kind, today)
    if why_not:
        item.status, item.note = DispositionStatus.KEPT, why_not
    elif record.legal_hold:
        item.status, item.hold_reason = DispositionStatus.HELD, record.hold_reason
    else:
        if item.record_kind == RecordKind.APPLICATION_FORM:
            _destroy_form(session, item, record, actor)
        else:
            _destroy_evidence(session, item, record, actor)
        item.status, item.destroyed_at, item.destroyed_by = DispositionStatus.DESTROYED, clock.now(), actor


@implements("R7.1", "R7.2", "R7.3", "R7.4")
def destroy_listed(session: Session, instance_id: int, actor: str) -> dict[str, int]:
    """Destroy the approved list: each item re-checked now (a hold or a later date set since listing wins)."""
    today = local_date(clock.now())
    items = session.scalars(select(DispositionItem).where(
        DispositionItem.instance_id == instance_id, DispositionItem.status.in_(OPEN)).order_by(DispositionItem.id))
    for item in items:
        _destroy_item(session, item, actor, today)
    session.flush()
    counts = {s.value: 0 for s in DispositionStatus if s != DispositionStatus.LISTED}
    for status in session.scalars(select(DispositionItem.status).where(DispositionItem.instance_id == instance_id)):
        counts[status] += 1
    audit.record(session, "disposition_done", actor, instance_id, clause="R7.4", **counts)
    return counts


def destroy_listed_records(call: ServiceCall) -> dict:
    """Service task `destroy_listed_records`: after the head's approval (R7.4)."""
    ctx = call.context
    return destroy_listed(ctx.session, ctx.instance.id, _actor(ctx))


def destroy_due_evidence(call: ServiceCall) -> dict:
    """Service task of the first model version (kept for its running instances): destroy due evidence directly."""
    ctx = call.context
    due = evidence.due_for_destruction(ctx.session, ctx.instance.agency_id, local_date(clock.now()))
    for row in due:
        evidence.destroy(ctx.session, instance_path(), row, _actor(ctx), ctx.instance.id)
    return {"destroyed": len(due), "evidence_ids": [row.id for row in due]}


def _sync_open_items(session: Session, kind: str, record_id: int, hold: bool, reason: str) -> None:
    """A hold set or cleared while a list awaits approval shows on that list at once."""
    session.execute(update(DispositionItem).where(
        DispositionItem.record_kind == kind, DispositionItem.record_id == record_id,
        DispositionItem.status == (DispositionStatus.LISTED if hold else DispositionStatus.HELD))
        .values(status=DispositionStatus.HELD if hold else DispositionStatus.LISTED,
                hold_reason=reason if hold else None))


@implements("R7.2", "R7.3", "R7.4")
def set_legal_hold(session: Session, kind: str, record, hold: bool, reason: str, actor: str) -> None:
    """Put a record under legal hold (it is not destroyed) or release it; the reason is required and audited."""
    reason = (reason or "").strip()
    if not reason:
        raise DispositionError("請填寫理由 A reason is required to set or clear a legal hold")
    if record.destroyed_at is not None:
        raise DispositionError(f"{kind} {record.id} 已銷毀 was destroyed on {record.destroyed_at:%Y-%m-%d}")
    if kind == RecordKind.EVIDENCE_FILE:
        evidence.set_hold(session, record, hold, reason, actor)
    else:
        record.legal_hold, record.hold_reason = hold, reason
        audit.record(session, "legal_hold_set" if hold else "legal_hold_cleared", actor, application_id=record.id,
                     reason=reason, clause="R7.2")
    _sync_open_items(session, kind, record.id, hold, reason)


REGISTRY.service("list_records_past_retention", list_records_past_retention)
REGISTRY.service("destroy_listed_records", destroy_listed_records)
REGISTRY.service("destroy_due_evidence", destroy_due_evidence)
