"""User account application (R5.3, R5.5): unit supervisor, agency admin, Form 1-2 kept, the `user` role granted.

Granted business items must lie within the agency's approved business items (recorded by agency_onboarding;
an agency approved before the system went live, with no recorded items, accepts any).
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload

from engine import audit, clock
from engine.models import RoleAssignment, User
from engine.scripts import REGISTRY, ServiceCall
from workflows.access import agency_approved_items, holds_role, outside
from workflows.models import AccountApplication

PROCESS_ID = "user_account_application"
FORM_1_2_FIELDS = ("unit", "job_title", "employment_type", "egov_account", "purpose", "business_items",
                   "legal_basis", "requested_role", "application_date")
GRANTED = "granted"


def record_account_application(call: ServiceCall) -> dict:
    """Service task `record_account_application`: file Form 1-2 with its outcome; grant the role (R5.3)."""
    ctx, data = call.context, call.data
    session, instance = ctx.session, ctx.instance
    applicant = session.get(User, instance.started_by_id, options=[lazyload(User.agency)])
    outcome = data.get("outcome", "refused")
    reviewer = ctx.actor.username if ctx.actor and ctx.actor.id != applicant.id else None
    application = AccountApplication(
        instance_id=instance.id, user_id=applicant.id, agency_id=instance.agency_id,
        form={k: data[k] for k in FORM_1_2_FIELDS if k in data}, egov_account=data.get("egov_account"),
        business_items=list((outcome == GRANTED and data.get("granted_business_items")) or data.get("business_items")
                            or []), outcome=outcome,
        reason=data.get("refusal_reason"), decided_by=reviewer, decided_at=clock.now(),
    )
    session.add(application)
    if outcome == GRANTED:
        _grant_user_role(session, applicant, instance, reviewer)
    session.flush()
    return {"application_id": application.id, "outcome": outcome}


_ROLES = RoleAssignment.__table__.c
# Built once (a statement built per call costs more than running it).
_OTHER_UNIT_ADMIN = select(_ROLES.id).where(_ROLES.agency_id == bindparam("agency_id"), _ROLES.role == "unit_admin",
                                            _ROLES.revoked_at.is_(None),
                                            _ROLES.user_id != bindparam("applicant_id")).limit(1)


def _grant_user_role(session, applicant: User, instance, reviewer: str | None) -> None:
    if not holds_role(session, applicant.id, instance.agency_id, "user"):
        session.add(RoleAssignment(user_id=applicant.id, agency_id=instance.agency_id, role="user",
                                   granted_at=clock.now(), granted_by=reviewer, source_instance_id=instance.id))
    audit.record(session, "role_granted", reviewer, instance.id, role="user", user=applicant.username,
                 clause="R5.3")


def screen_account_application(call: ServiceCall) -> dict:
    """Service task `screen_account_application`: is there a unit supervisor to confirm, and the agency's scope."""
    ctx, data = call.context, call.data
    agency_id, applicant_id = ctx.instance.agency_id, ctx.instance.started_by_id
    unit_admin = ctx.session.scalar(_OTHER_UNIT_ADMIN, {"agency_id": agency_id,  # no starter: anyone counts
                                                        "applicant_id": -1 if applicant_id is None else applicant_id})
    agency_items = agency_approved_items(ctx.session, agency_id)
    return {"unit_admin_present": unit_admin is not None, "agency_items": agency_items,
            "outside_agency_scope": outside(data.get("business_items") or [], agency_items)}


def check_granted_items(call: ServiceCall) -> dict:
    """Service task `check_granted_items`: granted items within the request and the agency's approved items (R5.3)."""
    ctx, data = call.context, call.data
    requested = list(data.get("business_items") or [])
    items = list(data.get("granted_business_items") or requested)
    beyond = outside(items, requested, agency_approved_items(ctx.session, ctx.instance.agency_id))
    return {"items": items, "outside": beyond, "within": bool(items) and not beyond}


REGISTRY.service("record_account_application", record_account_application)
REGISTRY.service("screen_account_application", screen_account_application)
REGISTRY.service("check_granted_items", check_granted_items)
