"""The yearly submission to the master agency (R8.1.6): both half-year audits of the previous year, by 31 March.

`collect_half_year_audits` links the two `semiannual_internal_audit` instances of the year and their sealed
evidence packages (pre-filled into the form); `record_audit_submission` stamps the submission and marks the
obligation period fulfilled (its lateness is the submission's, not the master's acknowledgement's);
`reopen_audit_submission` withdraws that when the master admin returns it with remarks.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock, obligations
from engine.models import EvidenceFile, ObligationPeriod, ProcessInstance
from engine.scripts import REGISTRY, ServiceCall
from workflows.evidence_package import package_of

HALF_YEAR_OBLIGATION = "semiannual_internal_audit"


def half_year_audits(session: Session, agency_id: int, year: str) -> list[dict]:
    """The year's two half-year audits: period, instance, status and evidence package (None when missing)."""
    found = []
    for label in (f"{year}-H1", f"{year}-H2"):
        row = session.scalar(select(ObligationPeriod).where(
            ObligationPeriod.agency_id == agency_id, ObligationPeriod.obligation_id == HALF_YEAR_OBLIGATION,
            ObligationPeriod.label == label))
        instance = session.get(ProcessInstance, row.instance_id) if row and row.instance_id else None
        package = package_of(session, instance.id) if instance else None
        found.append({"period": label, "instance_id": instance.id if instance else None,
                      "status": instance.status.value if instance else "missing",
                      "evidence_id": package.id if package else None, "sha256": package.sha256 if package else None})
    return found


def packages_linked(session: Session, instance: ProcessInstance) -> list[EvidenceFile]:
    """Evidence packages an instance shows: its own, and for a yearly submission those of the year's audits."""
    rows = [r for r in [package_of(session, instance.id)] if r is not None]
    if instance.process_id == "annual_audit_submission":
        period = session.scalar(select(ObligationPeriod.label).where(ObligationPeriod.instance_id == instance.id))
        if period:
            ids = [a["evidence_id"] for a in half_year_audits(session, instance.agency_id, period) if a["evidence_id"]]
            rows += [session.get(EvidenceFile, i) for i in ids]
    return rows


def collect_half_year_audits(call: ServiceCall) -> dict:
    """Service task `collect_half_year_audits`: links to both half-year audits and their packages (R8.1.6)."""
    ctx = call.context
    audits = half_year_audits(ctx.session, ctx.instance.agency_id, str(call.data.get("period")))
    sealed = [a for a in audits if a["evidence_id"]]
    linked = "；".join(f"{a['period']} 證據包 evidence package #{a['evidence_id']} (SHA-256 {a['sha256'][:16]}…)"
                      for a in sealed) or "—"
    previous = call.data.get("half_year_audits") or {}
    call.data["audit_count"] = len(sealed)  # pre-filled answers of the form
    if call.data.get("document_reference") in (None, previous.get("linked_reference")):
        call.data["document_reference"] = linked  # what the team wrote themselves stays
    return {"audits": audits, "missing": [a["period"] for a in audits if not a["evidence_id"]],
            "linked_reference": linked}


def _is_late(due_at: str | None, now: dt.datetime) -> bool:
    return bool(due_at) and now > dt.datetime.fromisoformat(due_at)


def record_audit_submission(call: ServiceCall) -> dict:
    """Service task `record_audit_submission`: submitted now; the period counts as done (late after 31 March)."""
    ctx, now = call.context, clock.now()
    late = _is_late(call.data.get("due_at"), now)
    obligations.mark_fulfilled(ctx.session, ctx.instance.id, True)
    actor = ctx.actor.username if ctx.actor else None
    audit.record(ctx.session, "audit_documents_submitted", actor, ctx.instance.id, period=call.data.get("period"),
                 late=late, letter=call.data.get("official_letter_number"), clause="R8.1.6")
    local = now.astimezone(clock.zone())
    # Linked again now: an audit sealed after this instance opened (H2 is due in February) counts.
    audits = half_year_audits(ctx.session, ctx.instance.agency_id, str(call.data.get("period")))
    return {"submitted_at": local.isoformat(timespec="seconds"), "late": late, "audits": audits,
            "missing": [a["period"] for a in audits if not a["evidence_id"]],
            "late_text": "逾期 LATE（期限 due " + str(call.data.get("due_at")) + "）" if late else "準時 on time"}


def reopen_audit_submission(call: ServiceCall) -> dict:
    """Service task `reopen_audit_submission`: returned by the master admin, the period is open (or late) again."""
    ctx = call.context
    obligations.mark_fulfilled(ctx.session, ctx.instance.id, False)
    actor = ctx.actor.username if ctx.actor else None
    audit.record(ctx.session, "audit_documents_returned", actor, ctx.instance.id, period=call.data.get("period"),
                 remarks=call.data.get("remarks"), clause="R8.1.6")
    return {"returned_at": clock.now().astimezone(clock.zone()).isoformat(timespec="seconds")}


REGISTRY.service("collect_half_year_audits", collect_half_year_audits)
REGISTRY.service("record_audit_submission", record_audit_submission)
REGISTRY.service("reopen_audit_submission", reopen_audit_submission)
