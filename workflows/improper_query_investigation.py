"""Improper-query investigation (R6.3, R6.4): the querier explains, the agency audit team decides; an improper
query ends the account's access at once, starts `account_revocation` for the Form 1-2 paperwork (R5.4) and
records the accountability pursued (追究責任).

A case opens in two ways: the unit admin's review in `query_explanation` finds a query suspected improper
(the instance is then started FOR the querier, like the explanation itself), or a member of the agency audit
team starts the process and names the querier in its first form. Either way the querier is the instance's
applicant from then on, so the querier explains and can never decide their own case (separation of duties).
The case row is the trusted link: task data alone can never open a case.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.models import Agency, ProcessInstance, User
from engine.runtime import start_in_session
from engine.scripts import REGISTRY, ServiceCall
from engine.specs import latest_version
from workflows.access import agency_user, holds_role, today
from workflows.account_revocation import PROCESS_ID as REVOCATION_PROCESS_ID
from workflows.account_revocation import WEBIR_ROLE, release_claimed_tasks
from workflows.models_audits import ImproperQueryCase
from workflows.models_records import QueryLogRecord, ReconciliationFinding, ReconciliationRun
from workflows.org import revoke_role
from workflows.query_explanation import TITLES, _owners

PROCESS_ID = "improper_query_investigation"
AUDIT_ROLE = "agency_audit"
CASE_KEY = "improper_query_case_id"
MAX_LISTED = 50


def _finding_views(session: Session, finding_ids: list[int]) -> list[dict]:
    rows = session.execute(select(ReconciliationFinding, QueryLogRecord)
                           .outerjoin(QueryLogRecord, QueryLogRecord.id == ReconciliationFinding.log_record_id)
                           .where(ReconciliationFinding.id.in_(finding_ids or [-1]))
                           .order_by(ReconciliationFinding.id).limit(MAX_LISTED))
    return [{"id": f.id, "type": f.finding_type, "title": TITLES.get(f.finding_type, f.finding_type),
             "time": log.queried_at.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M") if log else None,
             "case_number": (log.case_number if log else None) or None,
             "query_item": log.query_item if log else None} for f, log in rows]


def _case_view(session: Session, case: ImproperQueryCase) -> dict:
    querier = session.get(User, case.querier_id)
    return {"case_id": case.id, "querier": querier.username, "querier_name": querier.display_name or querier.username,
            "source": case.source, "reason": case.reason or "", "opened_by": case.opened_by,
            "findings": _finding_views(session, case.finding_ids), "findings_total": len(case.finding_ids)}


def _query_explanation_findings(session: Session, explanation_instance_id: int) -> list[int]:
    return list(session.scalars(select(ReconciliationFinding.id).where(
        ReconciliationFinding.explanation_instance_id == explanation_instance_id).order_by(ReconciliationFinding.id)))


def open_from_explanation(call: ServiceCall) -> dict:
    """Service task `open_improper_query_investigation` of `query_explanation`: the unit admin found a query
    suspected improper (R6.3), so an investigation starts for the querier with the finding ids (R6.4)."""
    ctx, data = call.context, call.data
    session, explanation = ctx.session, ctx.instance
    version = latest_version(session, PROCESS_ID)
    if version is None:
        raise ValueError(f"R6.4: the {PROCESS_ID} process is not deployed")
    querier = session.get(User, explanation.started_by_id)
    case = ImproperQueryCase(agency_id=explanation.agency_id, querier_id=querier.id, source="explanation_review",
                             explanation_instance_id=explanation.id,
                             finding_ids=_query_explanation_findings(session, explanation.id),
                             reason=str(data.get("review_comment") or "").strip() or None,
                             opened_by=ctx.actor.username if ctx.actor else None, opened_at=clock.now())
    session.add(case)
    session.flush()
    agency = session.get(Agency, explanation.agency_id)
    instance = start_in_session(session, version, agency, querier,
                                {CASE_KEY: case.id, "explanation_instance_id": explanation.id})
    audit.record(session, "improper_query_case_opened", case.opened_by, explanation.id, case=case.id,
                 investigation=instance.id, querier=querier.username, findings=case.finding_ids, clause="R6.3,R6.4")
    return {"case_id": case.id, "investigation_instance_id": instance.id}


def load_case(call: ServiceCall) -> dict:
    """Service task `load_improper_query_case`: the case this instance was started for, if any (R6.4).

    A case opened by the explanation review is claimed here by the instance started for it: only a case row
    of the same agency and querier that no instance has claimed yet qualifies, so task data cannot forge one.
    """
    ctx, data = call.context, call.data
    session, instance = ctx.session, ctx.instance
    case = session.scalar(select(ImproperQueryCase).where(ImproperQueryCase.instance_id == instance.id))
    wanted = data.get(CASE_KEY)
    if case is None and isinstance(wanted, int):
        candidate = session.get(ImproperQueryCase, wanted)
        if candidate is not None and candidate.instance_id is None and candidate.agency_id == instance.agency_id \
                and candidate.querier_id == instance.started_by_id:
            candidate.instance_id, case = instance.id, candidate
    if case is None:
        return {"opened": False}
    return {"opened": True, **_case_view(session, case)}


def _refused(problem: str) -> dict:
    return {"valid": False, "problem": problem}


def _finding_ids_of(session: Session, agency_id: int, ids, accounts: set[str]) -> list[int] | str:
    """The named findings if each is this agency's and about the querier's account; else the problem."""
    wanted = sorted({int(i) for i in ids or []})
    if not wanted:
        return []
    rows = session.execute(select(ReconciliationFinding.id, ReconciliationFinding.account, ReconciliationRun.agency_id)
                           .join(ReconciliationRun, ReconciliationRun.id == ReconciliationFinding.run_id)
                           .where(ReconciliationFinding.id.in_(wanted))).all()
    found = {fid: (account, agency) for fid, account, agency in rows}
    bad = [i for i in wanted if i not in found or found[i][1] != agency_id or found[i][0] not in accounts]
    if bad:
        return f"R6.3: 疑義編號不屬於此查詢人或本機關 Findings {bad} are not this querier's in this agency"
    return wanted


def _accounts_of(session: Session, user: User) -> set[str]:
    """The log accounts that are this user's (username, 我的E政府 id on a granted Form 1-2), as the explanations map."""
    return {account for account, uid in _owners(session).items() if uid == user.id}


def open_by_audit_team(call: ServiceCall) -> dict:
    """Service task `open_improper_query_case`: a member of the agency audit team names the querier (R6.4);
    from here on the querier is the instance's applicant."""
    ctx, data = call.context, call.data
    session, instance = ctx.session, ctx.instance
    opener = session.get(User, instance.started_by_id)
    if not holds_role(session, opener.id, instance.agency_id, AUDIT_ROLE):
        return _refused("R6.4: 僅機關稽核小組得立案調查 Only the agency audit team may open an investigation")
    querier = agency_user(session, data.get("querier_username"), instance.agency_id)
    if querier is None:
        return _refused("R6.4: 本機關查無此查詢人 No such querier in this agency")
    if querier.id == opener.id:
        return _refused("R6.4: 不得調查自己 You may not investigate yourself")
    finding_ids = _finding_ids_of(session, instance.agency_id, data.get("finding_ids"), _accounts_of(session, querier))
    if isinstance(finding_ids, str):
        return _refused(finding_ids)
    case = ImproperQueryCase(instance_id=instance.id, agency_id=instance.agency_id, querier_id=querier.id,
                             source="audit_team", finding_ids=finding_ids, reason=str(data.get("reason") or ""),
                             opened_by=opener.username, opened_at=clock.now())
    session.add(case)
    session.flush()
    # The instance now acts on the querier: their explanation is its applicant step, the opener may decide.
    session.get(ProcessInstance, instance.id).started_by_id = querier.id
    audit.record(session, "improper_query_case_opened", opener.username, instance.id, case=case.id,
                 querier=querier.username, findings=finding_ids, applicant_now=querier.username, clause="R6.4")
    return {"valid": True, "problem": "", **_case_view(session, case)}


def _revoke_at_once(session: Session, case: ImproperQueryCase, actor: User | None, instance_id: int) -> int | None:
    """R6.4: the audit team ends the `user` role now and starts `account_revocation` for Form 1-2 (R5.4)."""
    querier, agency = session.get(User, case.querier_id), session.get(Agency, case.agency_id)
    actor_name = actor.username if actor else None
    revoke_role(session, querier, agency, WEBIR_ROLE, actor_name, instance_id, clause="R6.4")
    release_claimed_tasks(session, querier.id, agency.id)
    case.access_revoked_at = clock.now()
    version = latest_version(session, REVOCATION_PROCESS_ID)
    if version is None:
        raise ValueError(f"R6.4: the {REVOCATION_PROCESS_ID} process is not deployed")
    revocation = start_in_session(session, version, agency, actor, {
        "subject_username": querier.username, "reason_kind": "improper_query", CASE_KEY: case.id,
        "reason": f"不當查詢調查 #{case.id}（R6.4） Improper-query investigation #{case.id} (R6.4)",
        "effective_date": today().isoformat()})
    return revocation.id


def record_decision(call: ServiceCall) -> dict:
    """Service task `record_improper_query_decision`: statement, decision and accountability onto the case
    (R6.4); an improper query revokes the account at once."""
    ctx, data = call.context, call.data
    session = ctx.session
    case = session.scalar(select(ImproperQueryCase).where(ImproperQueryCase.instance_id == ctx.instance.id))
    case.statement = str(data.get("statement") or "").strip() or None
    case.decision, case.decision_reason = data["decision"], data.get("decision_reason")
    case.accountability = data.get("accountability") or "none"
    case.accountability_text = data.get("accountability_text")
    case.decided_by, case.decided_at = (ctx.actor.username if ctx.actor else None), clock.now()
    if case.decision == "improper":
        case.revocation_instance_id = _revoke_at_once(session, case, ctx.actor, ctx.instance.id)
    audit.record(session, "improper_query_decided", case.decided_by, ctx.instance.id, case=case.id,
                 decision=case.decision, accountability=case.accountability,
                 accountability_text=case.accountability_text, revocation_instance=case.revocation_instance_id,
                 clause="R6.4")
    return {"decision": case.decision, "accountability": case.accountability,
            "revocation_instance_id": case.revocation_instance_id}


REGISTRY.service("open_improper_query_investigation", open_from_explanation)
REGISTRY.service("load_improper_query_case", load_case)
REGISTRY.service("open_improper_query_case", open_by_audit_team)
REGISTRY.service("record_improper_query_decision", record_decision)
