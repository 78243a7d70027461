"""Findings become work (R6.1, R6.5): one `query_explanation` instance per querier with findings in a run.

The querier explains (applicant lane: the instance is started for them), the unit admin reviews; the service
task `record_query_explanation` writes both onto the findings, where the monthly report (R6.5) reads them.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.models import Agency, User
from engine.runtime import start_in_session
from engine.scripts import REGISTRY, ServiceCall
from engine.specs import latest_version
from workflows.clauses import implements
from workflows.models import AccountApplication
from workflows.models_records import QueryLogRecord, ReconciliationFinding, ReconciliationRun, RegisterEntry
from workflows.user_account_application import GRANTED

PROCESS_ID = "query_explanation"
MAX_LISTED = 50  # findings shown in the task; all of them are updated by the service task
TITLES = {
    "logged_not_registered": "未登記 Logged, not registered",
    "querier_mismatch": "他人登記 Registered by another account",
    "registered_not_logged": "查無紀錄 Registered, not logged",
    "off_hours": "上班時間外 Off hours",
    "unauthorized_account": "未授權帳號 Unauthorised account",
    "outside_business_scope": "業務範圍外 Outside business items",
}


def _owners(session: Session) -> dict[str, int]:
    """Account (username or 我的E政府 id on a granted Form 1-2) -> user id."""
    owners = {a: u for a, u in session.execute(select(AccountApplication.egov_account, AccountApplication.user_id)
                                               .where(AccountApplication.outcome == GRANTED)) if a}
    owners.update(session.execute(select(User.username, User.id)).all())
    return owners


def _finding_view(finding: ReconciliationFinding, log: QueryLogRecord | None, entry: RegisterEntry | None) -> dict:
    when = log.queried_at if log else entry.queried_at if entry else None
    return {"id": finding.id, "type": finding.finding_type, "title": TITLES.get(finding.finding_type, ""),
            "time": when.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M") if when else None,
            "case_number": (log.case_number if log else entry.case_number if entry else None) or None,
            "query_item": log.query_item if log else None}


@implements("R6.1", "R6.5")
def open_explanations(session: Session, run_id: int) -> list[int]:
    """Start one explanation task per querier with unexplained findings of a run (R6.1); the instance ids."""
    # Findings of accounts that belong to no user get no task: they are the agency admin's, in the report.
    run = session.get(ReconciliationRun, run_id)
    version = latest_version(session, PROCESS_ID)
    if run is None or version is None:
        raise ValueError(f"reconciliation run {run_id} or the {PROCESS_ID} process does not exist")
    owners = _owners(session)
    by_user: dict[int, list] = defaultdict(list)
    rows = session.execute(select(ReconciliationFinding, QueryLogRecord, RegisterEntry)
                           .outerjoin(QueryLogRecord, QueryLogRecord.id == ReconciliationFinding.log_record_id)
                           .outerjoin(RegisterEntry, RegisterEntry.id == ReconciliationFinding.register_entry_id)
                           .where(ReconciliationFinding.run_id == run_id,
                                  ReconciliationFinding.explanation_instance_id.is_(None))
                           .order_by(ReconciliationFinding.id))
    for finding, log, entry in rows:
        user_id = owners.get(finding.account or "")
        if user_id is not None:
            by_user[user_id].append((finding, log, entry))
    agency = session.get(Agency, run.agency_id)
    started = [_start_for(session, version, agency, session.get(User, uid), run, found)
               for uid, found in sorted(by_user.items())]
    audit.record(session, "explanations_opened", None, run=run_id, instances=started, clause="R6.1")
    return started


def _start_for(session: Session, version, agency: Agency, user: User, run: ReconciliationRun, found: list) -> int:
    data = {"reconciliation_run_id": run.id, "period": run.period, "account": user.username,
            "findings": [_finding_view(*f) for f in found[:MAX_LISTED]], "findings_total": len(found)}
    instance = start_in_session(session, version, agency, user, data)
    session.execute(update(ReconciliationFinding).where(ReconciliationFinding.id.in_([f[0].id for f in found]))
                    .values(explanation_instance_id=instance.id))
    return instance.id


def record_query_explanation(call: ServiceCall) -> dict:
    """Service task `record_query_explanation`: the explanation and its review onto each finding (R6.1, R6.5)."""
    ctx, data = call.context, call.data
    querier = ctx.session.get(User, ctx.instance.started_by_id)
    explanation = str(data.get("explanation") or "").strip()
    if data.get("proxy_authorization"):
        explanation += f"\n代查授權 Proxy authorisation (Form 3): {data['proxy_authorization']}"
    done = ctx.session.execute(
        update(ReconciliationFinding).where(ReconciliationFinding.explanation_instance_id == ctx.instance.id)
        .values(explanation=explanation, explained_by=querier.username if querier else None,
                explained_at=clock.now(), review_decision=data.get("decision"),
                reviewed_by=ctx.actor.username if ctx.actor else None)).rowcount
    return {"findings_explained": done, "decision": data.get("decision")}


REGISTRY.service("record_query_explanation", record_query_explanation)
