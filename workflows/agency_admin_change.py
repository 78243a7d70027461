"""Agency admin change (R3.2, R2.2): on the master admin's approval the `agency_admin` role moves, atomically.

The outgoing admin's assignment ends and the incoming admin's begins in the transaction that completes the
approval; ready tasks assigned to the outgoing admin personally move with the role (to the pool instead when
the incoming admin started that instance, who may not review their own).
"""

from __future__ import annotations

from sqlalchemy import select

from engine import audit, clock
from engine.models import Agency, HumanTask, ProcessInstance, TaskStatus, User
from engine.scripts import REGISTRY, ServiceCall
from workflows.access import agency_user, holds_role
from workflows.clauses import implements
from workflows.models_accounts import AgencyAdminChange
from workflows.org import grant_role, revoke_role

PROCESS_ID = "agency_admin_change"
ADMIN = "agency_admin"
MAY_APPLY = ("agency_admin", "agency_head")
FORM_FIELDS = ("outgoing_admin", "incoming_admin", "incoming_egov_account", "incoming_certificate_uploaded",
               "reason", "official_letter_number", "application_date")


@implements("R3.2", "R5.5")
def _problem(session, agency_id: int, starter: User, outgoing: User | None, incoming: User | None) -> str:
    if not any(holds_role(session, starter.id, agency_id, r) for r in MAY_APPLY):
        return "R3.2: 申請人須為機關管理者或機關首長 The applicant must be the agency's admin or head"
    if outgoing is None or not holds_role(session, outgoing.id, agency_id, ADMIN):
        return "R3.2: 原管理者須為本機關現任機關管理者 The outgoing admin must be a current admin of this agency"
    if incoming is None:
        return "R3.2: 新管理者須為本機關人員 The incoming admin must be staff of this agency"
    if incoming.is_vendor:
        return "R5.5: 委外廠商人員不得授權 Outsourced-vendor staff may not be authorised"
    if incoming.id == outgoing.id or holds_role(session, incoming.id, agency_id, ADMIN):
        return "R3.2: 新管理者已是機關管理者 The incoming user is already an agency admin"
    return ""


def check_agency_admin_change(call: ServiceCall) -> dict:
    """Service task `check_agency_admin_change`: who applies, who leaves, who comes (R3.2, R5.5)."""
    ctx, data = call.context, call.data
    session, agency_id = ctx.session, ctx.instance.agency_id
    starter = session.get(User, ctx.instance.started_by_id)
    outgoing = agency_user(session, data.get("outgoing_admin"), agency_id)
    incoming = agency_user(session, data.get("incoming_admin"), agency_id)
    problem = _problem(session, agency_id, starter, outgoing, incoming)
    if problem:
        return {"valid": False, "problem": problem}
    return {"valid": True, "problem": "", "outgoing_id": outgoing.id, "incoming_id": incoming.id,
            "outgoing_name": outgoing.display_name, "incoming_name": incoming.display_name}


def _move_tasks(session, agency_id: int, outgoing_id: int, incoming_id: int) -> int:
    """Ready tasks assigned to the outgoing admin personally (not their own applicant steps) follow the role."""
    rows = session.execute(select(HumanTask, ProcessInstance.started_by_id).join(
        ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(
        HumanTask.status == TaskStatus.READY, HumanTask.assignee_id == outgoing_id,
        HumanTask.agency_id == agency_id, HumanTask.role.is_not(None), HumanTask.role != "applicant")).all()
    for row, started_by in rows:
        row.assignee_id = None if started_by == incoming_id else incoming_id
    return len(rows)


def record_agency_admin_change(call: ServiceCall) -> dict:
    """Service task `record_agency_admin_change`: keep the decision; on approval move role and tasks (R3.2)."""
    ctx, data = call.context, call.data
    session, instance = ctx.session, ctx.instance
    check, outcome = data["admin_change_check"], data.get("outcome", "refused")
    actor = ctx.actor.username if ctx.actor else None
    change = AgencyAdminChange(
        instance_id=instance.id, agency_id=instance.agency_id, outgoing_admin_id=check["outgoing_id"],
        incoming_admin_id=check["incoming_id"], form={k: data[k] for k in FORM_FIELDS if k in data},
        outcome=outcome, reason=data.get("refusal_reason"), decided_by=actor, decided_at=clock.now())
    session.add(change)
    if outcome == "approved":
        agency = session.get(Agency, instance.agency_id)
        outgoing, incoming = session.get(User, check["outgoing_id"]), session.get(User, check["incoming_id"])
        revoke_role(session, outgoing, agency, ADMIN, actor, instance.id, clause="R3.2", successor=incoming.username)
        grant_role(session, incoming, agency, ADMIN, actor, source_instance_id=instance.id)
        change.tasks_reassigned = _move_tasks(session, agency.id, outgoing.id, incoming.id)
    session.flush()
    audit.record(session, "agency_admin_change_recorded", actor, instance.id, outcome=outcome,
                 tasks_reassigned=change.tasks_reassigned, clause="R3.2")
    return {"change_id": change.id, "outcome": outcome, "tasks_reassigned": change.tasks_reassigned}


REGISTRY.service("check_agency_admin_change", check_agency_admin_change)
REGISTRY.service("record_agency_admin_change", record_agency_admin_change)
