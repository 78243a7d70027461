"""Master-agency irregular audits (R2.3, R4.2, R8.2): plan, evidence, review, corrective actions (追蹤項目).

The master audit team starts `master_agency_audit` in the master agency and plans the audit: the agencies
chosen, or a random sample drawn with a seed that is recorded, so the same seed over the same population
draws the same agencies again. Opening the audit starts one instance of the same process per audited agency
(its `agency_audit` lane gives the evidence, a commissioned agency's delegating agency cooperates, R4.2);
the master team reviews and each deficiency becomes a corrective-action item the agency admin closes, one
task per item, tracked until closed (R8.2). BLI audits run the same way with BLI recorded as the auditor.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.models import Agency, EvidenceFile, User
from engine.runtime import start_in_session
from engine.scripts import REGISTRY, ServiceCall
from engine.specs import latest_version
from workflows.access import holds_role
from workflows.models_audits import CorrectiveAction, MasterAudit, MasterAuditAgency

PROCESS_ID = "master_agency_audit"
AUDIT_ROLE = "master_audit"
TARGET_KEY = "master_audit_agency_id"
AUDITORS = {"master_audit": "總稽核小組 Master audit team", "bli": "勞保局 Bureau of Labor Insurance (BLI)"}
CLAUSE_PREFIX = re.compile(r"^\s*(R\d+(?:\.\d+)*)\s*[:：、,，-]?\s*(.*)$")


def audit_population(session: Session) -> list[str]:
    """Codes of the agencies a master audit may cover: approved user agencies, in code order."""
    return list(session.scalars(select(Agency.code).where(Agency.is_master.is_(False), Agency.approved_on.is_not(None))
                                .order_by(Agency.code)))


def sample_agencies(population: list[str], size: int, seed: str) -> list[str]:
    """A reproducible random sample: the same population, size and seed always draw the same agencies."""
    return sorted(random.Random(seed).sample(sorted(population), size))  # noqa: S311 - an audit sample, not a secret


def _refused(problem: str) -> dict:
    return {"valid": False, "problem": problem}


def _selection(session: Session, data: dict) -> tuple[list[str], list[str], str | None] | str:
    """(population, selected codes, seed) for the plan, or the problem with it."""
    population = audit_population(session)
    if data.get("selection") == "random":
        size = int(data.get("sample_size") or 0)
        if not 1 <= size <= len(population):
            return f"R8.2: 抽樣數須介於 1 與 {len(population)} Sample size must be 1 to {len(population)}"
        seed = str(data.get("seed") or "").strip() or secrets.token_hex(8)
        return population, sample_agencies(population, size, seed), seed
    chosen = sorted({str(c).strip().upper() for c in data.get("agencies") or [] if str(c).strip()})
    unknown = [c for c in chosen if c not in population]
    if not chosen or unknown:
        return f"R8.2: 非可受稽核之機關 Not an agency that can be audited: {', '.join(unknown) or '(none)'}"
    return population, chosen, None


def open_audit(call: ServiceCall) -> dict:
    """Service task `open_master_agency_audit`: record the plan (seed included) and start one instance per
    audited agency (R2.3, R8.2)."""
    ctx, data = call.context, call.data
    session, instance = ctx.session, ctx.instance
    starter = session.get(User, instance.started_by_id)
    master = session.scalar(select(Agency).where(Agency.is_master.is_(True)))
    if master is None or starter is None or not holds_role(session, starter.id, master.id, AUDIT_ROLE):
        return _refused("R2.3: 僅總稽核小組得啟動稽核 Only the master audit team may start a master audit")
    selection = _selection(session, data)
    if isinstance(selection, str):
        return _refused(selection)
    population, chosen, seed = selection
    version = latest_version(session, PROCESS_ID)
    row = MasterAudit(instance_id=instance.id, auditor=data.get("auditor", "master_audit"),
                      selection=data.get("selection", "chosen"), seed=seed, population=population, agencies=chosen,
                      scope=data.get("scope"), evidence_due_on=dt.date.fromisoformat(data["evidence_due_on"]),
                      opened_by=starter.username, opened_at=clock.now())
    session.add(row)
    session.flush()
    started = {}
    for code in chosen:
        agency = session.scalar(select(Agency).where(Agency.code == code))
        target = MasterAuditAgency(audit_id=row.id, agency_id=agency.id)
        session.add(target)
        session.flush()
        started[code] = start_in_session(session, version, agency, None, {TARGET_KEY: target.id}).id
    audit.record(session, "master_audit_opened", starter.username, instance.id, audit=row.id, auditor=row.auditor,
                 selection=row.selection, seed=seed, population=population, agencies=chosen, instances=started,
                 clause="R2.3,R8.2")
    return {"valid": True, "problem": "", "audit_id": row.id, "agencies": chosen, "seed": seed,
            "instances": started}


def _audit_view(session: Session, target: MasterAuditAgency) -> dict:
    row = session.get(MasterAudit, target.audit_id)
    agency = session.get(Agency, target.agency_id)
    delegating = session.get(Agency, agency.delegated_by_id) if agency.delegated_by_id else None
    return {"mode": "agency", "audit_id": row.id, "auditor": row.auditor, "auditor_name": AUDITORS.get(row.auditor),
            "scope": row.scope or "", "evidence_due_on": row.evidence_due_on.isoformat() if row.evidence_due_on else "",
            "audited_agency": agency.code, "delegated_by": delegating.code if delegating else None}


def load_context(call: ServiceCall) -> dict:
    """Service task `master_audit_context`: is this instance one audited agency's part of an audit (then
    claimed here, once, by the instance started for it) or a new audit to plan?"""
    ctx, data = call.context, call.data
    session, instance = ctx.session, ctx.instance
    target = session.scalar(select(MasterAuditAgency).where(MasterAuditAgency.instance_id == instance.id))
    wanted = data.get(TARGET_KEY)
    if target is None and isinstance(wanted, int) and instance.started_by_id is None:
        candidate = session.get(MasterAuditAgency, wanted)
        if candidate is not None and candidate.instance_id is None and candidate.agency_id == instance.agency_id:
            candidate.instance_id, target = instance.id, candidate
    return _audit_view(session, target) if target is not None else {"mode": "plan"}


def _target(call: ServiceCall) -> MasterAuditAgency:
    return call.context.session.scalar(select(MasterAuditAgency).where(
        MasterAuditAgency.instance_id == call.context.instance.id))


def _actor(call: ServiceCall) -> str | None:
    return call.context.actor.username if call.context.actor else None


def record_evidence(call: ServiceCall) -> dict:
    """Service task `record_master_audit_evidence`: the evidence the audited agency gave (R2.3, R3.5)."""
    session, data, target = call.context.session, call.data, _target(call)
    files = []
    for file_id in data.get("evidence_file_ids") or []:
        row = session.get(EvidenceFile, file_id)
        visible = row is not None and row.agency_id in (None, target.agency_id)
        files.append({"file_id": file_id, "filename": row.filename if visible else None,
                      "sha256": row.sha256 if visible else None, "found": visible})
    target.evidence = [{"reference": r} for r in data.get("evidence_references") or []] + files
    target.evidence_by, target.evidence_at = _actor(call), clock.now()
    audit.record(session, "master_audit_evidence_given", target.evidence_by, call.context.instance.id,
                 audit=target.audit_id, items=len(target.evidence), clause="R2.3,R3.5")
    return {"items": len(target.evidence), "files_not_found": [f["file_id"] for f in files if not f["found"]]}


def record_cooperation(call: ServiceCall) -> dict:
    """Service task `record_delegating_cooperation`: the delegating agency's part in the audit (R4.2)."""
    target = _target(call)
    target.cooperation = {"statement": call.data.get("cooperation_statement"),
                          "references": list(call.data.get("cooperation_references") or []),
                          "by": _actor(call), "at": clock.now().isoformat()}
    audit.record(call.context.session, "master_audit_cooperation_given", _actor(call), call.context.instance.id,
                 audit=target.audit_id, clause="R4.2")
    return {"recorded": True}


def deficiency_parts(line: str) -> tuple[str | None, str]:
    """A deficiency line with an optional leading clause id ("R5.4: ...") as (clause, text)."""
    match = CLAUSE_PREFIX.match(line)
    return (match.group(1), match.group(2).strip() or line.strip()) if match else (None, line.strip())


def record_review(call: ServiceCall) -> list[dict]:
    """Service task `record_master_audit_review`: findings recorded; each deficiency becomes a corrective-action
    item the agency must close (R8.2). Returns the items, one task each."""
    session, data, target = call.context.session, call.data, _target(call)
    target.result, target.findings = data["result"], data.get("findings")
    target.reviewed_by, target.reviewed_at = _actor(call), clock.now()
    items = []
    if target.result == "deficiencies":
        due = dt.date.fromisoformat(data["correction_due_on"])
        for line in data.get("deficiencies") or []:
            clause, text = deficiency_parts(line)
            row = CorrectiveAction(audit_agency_id=target.id, agency_id=target.agency_id, title=text[:200],
                                   clause=clause, description=text, due_on=due, created_at=clock.now())
            session.add(row)
            session.flush()
            items.append({"id": row.id, "title": row.title, "clause": clause or "", "due_on": due.isoformat()})
    audit.record(session, "master_audit_reviewed", target.reviewed_by, call.context.instance.id,
                 audit=target.audit_id, result=target.result, corrective_actions=[i["id"] for i in items],
                 clause="R8.2")
    return items


def close_item(call: ServiceCall) -> dict:
    """Service task `close_corrective_action`: the action taken closes one item (R8.2); closing twice is a no-op."""
    session, data = call.context.session, call.data
    row = session.get(CorrectiveAction, int(data["item"]["id"]))
    if row.status != "closed":
        row.status, row.action_taken = "closed", data.get("action_taken")
        row.corrected_on = dt.date.fromisoformat(data["corrected_on"])
        row.evidence_reference = data.get("evidence_reference")
        row.closed_by, row.closed_at = _actor(call), clock.now()
        audit.record(session, "corrective_action_closed", row.closed_by, call.context.instance.id, item=row.id,
                     late=row.corrected_on > row.due_on, clause="R8.2")
    return {"id": row.id, "status": row.status}


REGISTRY.service("master_audit_context", load_context)
REGISTRY.service("open_master_agency_audit", open_audit)
REGISTRY.service("record_master_audit_evidence", record_evidence)
REGISTRY.service("record_delegating_cooperation", record_cooperation)
REGISTRY.service("record_master_audit_review", record_review)
REGISTRY.service("close_corrective_action", close_item)
