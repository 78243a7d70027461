"""Account revocation (R5.4, R7.2): Form 1-2 gets its revocation date and the `user` role ends, in one step.

The earliest destruction date of the paper forms is the revocation date + 3 years (R7.2). The revoked user
loses every `user`-lane task at once: roles are read from active assignments, and tasks they had claimed go
back to the pool.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine import audit, clock
from engine.models import Agency, HumanTask, TaskStatus, User
from engine.scripts import REGISTRY, ServiceCall
from workflows.access import agency_user, granted_application, holds_role
from workflows.clauses import implements
from workflows.models import AccountApplication
from workflows.models_accounts import AccountRevocation
from workflows.models_audits import ImproperQueryCase
from workflows.org import revoke_role

PROCESS_ID = "account_revocation"
WEBIR_ROLE = "user"
MAY_NAME_OTHERS = ("unit_admin", "agency_admin")
RETENTION_YEARS = 3  # R7.2
CASE_KEY = "improper_query_case_id"  # set when an improper-query investigation starts the revocation (R6.4)


@implements("R7.2")
def earliest_destruction(revoked_on: dt.date) -> dt.date:
    """R7.2: revocation date + 3 years (29 February falls back to 28 February)."""
    try:
        return revoked_on.replace(year=revoked_on.year + RETENTION_YEARS)
    except ValueError:
        return revoked_on.replace(year=revoked_on.year + RETENTION_YEARS, day=28)


def _not_accepted(problem: str) -> dict:
    return {"valid": False, "problem": problem}


def revocation_source(call: ServiceCall) -> dict:
    """Service task `revocation_source`: does an improper-query investigation start this revocation (R6.4)?"""
    return {"improper_query": call.data.get(CASE_KEY) is not None}


def _investigation_case(session, data: dict, agency_id: int, subject: User) -> ImproperQueryCase | None:
    """The improper-query case decided improper for this subject and not used by another revocation (R6.4)."""
    case_id = data.get(CASE_KEY)
    case = session.get(ImproperQueryCase, case_id) if isinstance(case_id, int) else None
    if case is None or case.decision != "improper" or case.agency_id != agency_id or case.querier_id != subject.id \
            or case.revocation_instance_id is not None:
        return None
    return case


def check_revocation_subject(call: ServiceCall) -> dict:
    """Service task `check_revocation_subject`: whose access ends, and may the starter ask for it (R5.4)."""
    ctx, data = call.context, call.data
    session, agency_id = ctx.session, ctx.instance.agency_id
    starter = session.get(User, ctx.instance.started_by_id)
    subject = agency_user(session, data.get("subject_username") or starter.username, agency_id)
    if subject is None:
        return _not_accepted("R5.4: 本機關查無此使用者 No such user in this agency")
    if data.get(CASE_KEY) is not None:
        # R6.4: the audit team already ended the access; the admin still annotates Form 1-2 (R5.4, R7.2).
        if _investigation_case(session, data, agency_id, subject) is None:
            return _not_accepted("R6.4: 無相符之不當查詢調查結果 No matching improper-query decision")
        return _subject_info(session, subject, agency_id)
    if subject.id != starter.id and not any(holds_role(session, starter.id, agency_id, r) for r in MAY_NAME_OTHERS):
        return _not_accepted("R5.4: 僅單位或機關管理者得為他人申請 Only unit or agency admins may name another user")
    if not holds_role(session, subject.id, agency_id, WEBIR_ROLE):
        return _not_accepted("R5.4: 該使用者未持有 WebIR 使用者權限 The user holds no WebIR access")
    return _subject_info(session, subject, agency_id)


def _subject_info(session, subject: User, agency_id: int) -> dict:
    application = granted_application(session, subject.id, agency_id)
    return {"valid": True, "problem": "", "user_id": subject.id, "username": subject.username,
            "name": subject.display_name or subject.username,
            "application_id": application.id if application else None,
            "egov_account": application.egov_account if application else "",
            "business_items": list(application.business_items) if application else []}


def release_claimed_tasks(session, user_id: int, agency_id: int) -> int:
    """Ready `user`-lane tasks the revoked user had taken go back to the pool of remaining users."""
    rows = session.scalars(select(HumanTask).where(
        HumanTask.status == TaskStatus.READY, HumanTask.assignee_id == user_id, HumanTask.agency_id == agency_id,
        HumanTask.role == WEBIR_ROLE)).all()
    for row in rows:
        row.assignee_id = None
    return len(rows)


@implements("R5.4", "R7.2")
def revoke_user_account(call: ServiceCall) -> dict:
    """Service task `revoke_user_account`: revocation date on Form 1-2, role removed, retention date (R5.4, R7.2)."""
    ctx, data = call.context, call.data
    session, instance = ctx.session, ctx.instance
    subject_info = data["revocation_subject"]
    subject, agency = session.get(User, subject_info["user_id"]), session.get(Agency, instance.agency_id)
    revoked_on = dt.date.fromisoformat(data["revocation_date"])
    destroy = earliest_destruction(revoked_on)
    actor = ctx.actor.username if ctx.actor else None
    application = session.get(AccountApplication, subject_info["application_id"]) \
        if subject_info.get("application_id") else None
    if application is not None:
        application.revoked_on, application.destroy_not_before = revoked_on, destroy
    revoke_role(session, subject, agency, WEBIR_ROLE, actor, instance.id, clause="R5.4")
    released = release_claimed_tasks(session, subject.id, agency.id)
    record = AccountRevocation(
        instance_id=instance.id, user_id=subject.id, agency_id=agency.id,
        application_id=application.id if application else None, requested_by=data.get("applicant"),
        reason_kind=data.get("reason_kind", "other"), reason=data.get("reason"), revocation_date=revoked_on,
        destroy_not_before=destroy, revoked_by=actor, revoked_at=clock.now())
    session.add(record)
    session.flush()
    audit.record(session, "account_revoked", actor, instance.id, user=subject.username, revoked_on=revoked_on,
                 destroy_not_before=destroy, application_id=record.application_id, tasks_released=released,
                 clause="R5.4,R7.2")
    return {"revocation_id": record.id, "revoked_on": revoked_on.isoformat(),
            "destroy_not_before": destroy.isoformat(), "tasks_released": released}


REGISTRY.service("revocation_source", revocation_source)
REGISTRY.service("check_revocation_subject", check_revocation_subject)
REGISTRY.service("revoke_user_account", revoke_user_account)
