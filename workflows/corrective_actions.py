"""The corrective-action items of master-agency audits (追蹤項目, R8.2): listed by agency, overdue marked."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine.models import Agency
from workflows.master_agency_audit import AUDITORS
from workflows.models_audits import CorrectiveAction, MasterAudit, MasterAuditAgency

STATUSES = ("open", "closed", "all")
# Who follows corrective actions up: the audited agency's managers and audit team, the master agency.
FOLLOWERS = ("agency_admin", "agency_audit", "agency_head", "unit_admin", "master_admin", "master_audit")


def item_dict(item: CorrectiveAction, agency: Agency, master: MasterAudit, target: MasterAuditAgency,
              today: dt.date) -> dict:
    """One item as the page and the API show it; `overdue` = still open after its due date (or closed late)."""
    late = (item.corrected_on or today) > item.due_on
    return {"id": item.id, "agency": agency.code, "agency_name": agency.name, "audit_id": master.id,
            "auditor": master.auditor, "auditor_name": AUDITORS.get(master.auditor, master.auditor),
            "instance_id": target.instance_id, "title": item.title, "clause": item.clause,
            "description": item.description, "due_on": item.due_on.isoformat(), "status": item.status,
            "overdue": item.status == "open" and late, "closed_late": item.status == "closed" and late,
            "action_taken": item.action_taken, "corrected_on": item.corrected_on.isoformat() if item.corrected_on
            else None, "evidence_reference": item.evidence_reference, "closed_by": item.closed_by}


def list_items(session: Session, agency_ids: list[int], status: str, today: dt.date, offset: int = 0,
               limit: int = 50) -> tuple[list[dict], int]:
    """Items of these agencies (open first, oldest due date first) and their total."""
    query = (select(CorrectiveAction, Agency, MasterAudit, MasterAuditAgency)
             .join(Agency, Agency.id == CorrectiveAction.agency_id)
             .join(MasterAuditAgency, MasterAuditAgency.id == CorrectiveAction.audit_agency_id)
             .join(MasterAudit, MasterAudit.id == MasterAuditAgency.audit_id)
             .where(CorrectiveAction.agency_id.in_(agency_ids or [-1])))
    if status != "all":
        query = query.where(CorrectiveAction.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(CorrectiveAction.status.desc(), CorrectiveAction.due_on,
                                          CorrectiveAction.id).offset(offset).limit(limit))
    return [item_dict(*row, today) for row in rows], total or 0


def open_counts(session: Session, agency_ids: list[int], today: dt.date) -> dict[int, tuple[int, int]]:
    """Per agency with open items: (open, overdue = open past their due date), for the dashboard."""
    rows = session.execute(
        select(CorrectiveAction.agency_id, func.count(),
               func.sum(case((CorrectiveAction.due_on < today, 1), else_=0)))
        .where(CorrectiveAction.agency_id.in_(agency_ids or [-1]), CorrectiveAction.status == "open")
        .group_by(CorrectiveAction.agency_id))
    return {agency_id: (total, int(overdue or 0)) for agency_id, total, overdue in rows}
