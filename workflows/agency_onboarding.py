"""Agency onboarding (R2.1, R3.1, R5.1; R4.1/R5.2 through delegation_consent): Form 1-1, review, approval.

Approval makes the applicant `agency_admin` of the agency, records the approved business items and sets
`Agency.approved_on`, from which the obligations calendar (engine/obligations.py) owes the agency its periods.
"""

from __future__ import annotations

from sqlalchemy import select

from engine import audit, clock
from engine.models import Agency, User
from engine.scripts import REGISTRY, ServiceCall
from workflows.access import agency_approved_items, approved_purposes, outside, today
from workflows.models_accounts import AgencyBusinessItem, OnboardingApplication
from workflows.org import grant_role

PROCESS_ID = "agency_onboarding"
FORM_1_1_FIELDS = ("unit", "job_title", "contact_phone", "egov_account", "citizen_certificate_uploaded", "purpose",
                   "business_items", "legal_basis", "official_letter_number", "application_date")
APPROVED = "approved"


def load_applying_agency(call: ServiceCall) -> dict:
    """Service task `load_applying_agency`: the instance's agency, its delegating agency and approved items (R4.1)."""
    session = call.context.session
    agency = session.get(Agency, call.context.instance.agency_id)
    parent = agency.delegated_by
    return {
        "code": agency.code, "name": agency.name, "delegated_by": parent.code if parent else "",
        "delegating_agency_name": parent.name if parent else "",
        "approved_on": agency.approved_on.isoformat() if agency.approved_on else "",
        "approved_items": agency_approved_items(session, agency.id),
    }


def screen_business_purposes(call: ServiceCall) -> dict:
    """Service task `screen_business_purposes`: items against the approved purposes, the request and the consent.

    `outside`: not an approved business purpose (R2.1, rule data); `outside_request`: beyond what Form 1-1
    asked for or what the delegating agency consented to (R4.1).
    """
    ctx, data = call.context, call.data
    items = list(call.params.get("items") or [])
    rules = approved_purposes(ctx.session, ctx.instance.version)
    not_approved = [i for i in items if not rules.get(i, {}).get("approved")]
    beyond = outside(items, data.get("business_items"), data.get("consent_scope"))
    approved = [i for i in items if i not in not_approved and i not in beyond]
    return {"items": items, "approved": approved, "outside": not_approved, "outside_request": beyond,
            "within": bool(items) and not not_approved and not beyond,
            "titles": {i: rules.get(i, {}).get("title", i) for i in items}}


def file_form_1_1(call: ServiceCall) -> dict:
    """Service task `file_form_1_1`: keep Form 1-1 as submitted, so it can be printed for the official letter."""
    ctx, data = call.context, call.data
    agency = ctx.session.get(Agency, ctx.instance.agency_id)
    application = OnboardingApplication(
        instance_id=ctx.instance.id, agency_id=agency.id, applicant_id=ctx.instance.started_by_id,
        delegating_agency_id=agency.delegated_by_id, form={k: data[k] for k in FORM_1_1_FIELDS if k in data},
        egov_account=data.get("egov_account"), business_items=list(data.get("business_items") or []),
        status="submitted", submitted_at=clock.now())
    ctx.session.add(application)
    ctx.session.flush()
    audit.record(ctx.session, "form_1_1_filed", ctx.actor.username if ctx.actor else None, ctx.instance.id,
                 application_id=application.id, clause="R3.1")
    return {"application_id": application.id}


def _application(session, instance) -> OnboardingApplication:
    found = session.scalar(select(OnboardingApplication).where(OnboardingApplication.instance_id == instance.id))
    if found is None:  # refused before Form 1-1 was filled (vendor staff, R5.5)
        agency = session.get(Agency, instance.agency_id)
        found = OnboardingApplication(instance_id=instance.id, agency_id=agency.id,
                                      applicant_id=instance.started_by_id, delegating_agency_id=agency.delegated_by_id)
        session.add(found)
    return found


def record_agency_onboarding(call: ServiceCall) -> dict:
    """Service task `record_agency_onboarding`: the outcome on Form 1-1; on approval, the agency admin (R3.1)."""
    ctx, data = call.context, call.data
    session, instance = ctx.session, ctx.instance
    application = _application(session, instance)
    outcome = data.get("outcome", "refused")
    decider = ctx.actor.username if ctx.actor and ctx.actor.id != instance.started_by_id else None
    application.status, application.reason = outcome, data.get("refusal_reason")
    application.decided_by, application.decided_at = decider, clock.now()
    application.consent_id = (data.get("consent_record") or {}).get("consent_id")
    if outcome == APPROVED:
        _approve(session, application, instance, decider, list(data.get("approved_business_items") or []))
    else:
        audit.record(session, "agency_onboarding_refused", decider, instance.id, outcome=outcome,
                     reason=application.reason, clause="R2.1")
    session.flush()
    return {"application_id": application.id, "outcome": outcome}


def _approve(session, application: OnboardingApplication, instance, decider: str | None, items: list[str]) -> None:
    """Make the applicant agency admin, record the approved items, and start the agency's obligations."""
    agency = session.get(Agency, instance.agency_id)
    applicant = session.get(User, instance.started_by_id)
    grant_role(session, applicant, agency, "agency_admin", decider, source_instance_id=instance.id)
    _replace_items(session, agency.id, items, instance.id)
    if agency.approved_on is None:
        agency.approved_on = today()
    application.approved_business_items = items
    audit.record(session, "agency_approved", decider, instance.id, agency=agency.code, admin=applicant.username,
                 business_items=items, approved_on=agency.approved_on.isoformat(), clause="R3.1")


def _replace_items(session, agency_id: int, items: list[str], instance_id: int) -> None:
    """The approved business items become exactly `items`; items no longer approved are withdrawn (kept)."""
    current = {row.item: row for row in session.scalars(select(AgencyBusinessItem).where(
        AgencyBusinessItem.agency_id == agency_id, AgencyBusinessItem.withdrawn_at.is_(None)))}
    for item, row in current.items():
        if item not in items:
            row.withdrawn_at = clock.now()
    for item in items:
        if item not in current:
            session.add(AgencyBusinessItem(agency_id=agency_id, item=item, approved_on=today(),
                                           source_instance_id=instance_id))


REGISTRY.service("load_applying_agency", load_applying_agency)
REGISTRY.service("screen_business_purposes", screen_business_purposes)
REGISTRY.service("file_form_1_1", file_form_1_1)
REGISTRY.service("record_agency_onboarding", record_agency_onboarding)
