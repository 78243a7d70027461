"""agency_onboarding (R2.1, R3.1, R5.1, R5.5) with delegation_consent as a call activity (R4.1, R5.2)."""

from __future__ import annotations

import datetime as dt

import pytest
from process_walk import (
    APPROVE_ONBOARDING,
    CONSENT,
    FORM_1_1,
    new_agency,
    new_user,
    ready,
    ready_names,
    roles,
    status,
    step,
    task,
    unapprove,
)
from sqlalchemy import select

from engine import runtime, timekeeping
from engine.assignment import NotAllowed
from engine.models import Agency, InstanceStatus, ObligationPeriod
from workflows.access import agency_approved_items
from workflows.models_accounts import DelegationConsent, OnboardingApplication

PROCESS = "agency_onboarding"


@pytest.fixture
def doh(org_db) -> int:
    """A new, not yet approved agency that nobody commissioned, with one staff member; returns the staff id."""
    new_agency(org_db, "DOH", "臺北市政府衛生局 Department of Health")
    return new_user(org_db, "doh.staff", "DOH")


def _application(db, iid) -> OnboardingApplication:
    with db.sessions() as session:
        return session.scalar(select(OnboardingApplication).where(OnboardingApplication.instance_id == iid))


def _agency(db, code) -> Agency:
    with db.sessions() as session:
        return session.scalar(select(Agency).where(Agency.code == code))


def _submitted(db, staff_id: int, agency: str, form=FORM_1_1) -> int:
    iid = runtime.start_instance(db, PROCESS, staff_id, agency, {})
    step(db, iid, "fill_form_1_1", staff_id, form)
    return iid


@pytest.mark.clause("R3.1")
def test_r3_1_approval_makes_the_applicant_agency_admin_and_records_the_items(org_db, users, doh):
    iid = _submitted(org_db, doh, "DOH")
    review = task(org_db, iid, "review_onboarding")
    assert (review.role, review.agency_id, review.due_at is not None) == ("master_admin", _agency(org_db, "DOL").id,
                                                                        True)
    assert _application(org_db, iid).status == "submitted"
    step(org_db, iid, "review_onboarding", users["dol.admin"], APPROVE_ONBOARDING)
    assert status(org_db, iid) == InstanceStatus.COMPLETED
    assert ("DOH", "agency_admin") in roles(org_db, doh)
    application = _application(org_db, iid)
    assert (application.status, application.decided_by) == ("approved", "dol.admin")
    assert application.form["egov_account"] == "hsu.egov" and application.approved_business_items == [
        "social_assistance"]
    assert _agency(org_db, "DOH").approved_on is not None
    with org_db.sessions() as session:
        assert agency_approved_items(session, _agency(org_db, "DOH").id) == ["social_assistance"]


@pytest.mark.clause("R2.1")
def test_r2_1_refusal_keeps_the_reason_and_grants_nothing(org_db, users, doh):
    iid = _submitted(org_db, doh, "DOH")
    step(org_db, iid, "review_onboarding", users["dol.admin"],
         {"decision": "refuse", "review_comment": "法令依據不足 Legal basis insufficient"})
    application = _application(org_db, iid)
    assert (application.status, application.reason) == ("refused", "法令依據不足 Legal basis insufficient")
    assert roles(org_db, doh) == set() and _agency(org_db, "DOH").approved_on is None


@pytest.mark.clause("R2.1")
def test_r2_1_items_outside_the_approved_purposes_go_back_to_the_review(org_db, users, doh):
    iid = _submitted(org_db, doh, "DOH", {**FORM_1_1, "business_items": ["social_assistance", "other"]})
    step(org_db, iid, "review_onboarding", users["dol.admin"],
         {**APPROVE_ONBOARDING, "approved_business_items": ["social_assistance", "other"]})
    assert ready_names(org_db, iid) == ["review_onboarding"]
    with org_db.sessions() as session:
        from engine.inspect import task_details
        details = task_details(session, task(org_db, iid, "review_onboarding"))
    assert "other" in details["instructions"] and "R2.1" in details["instructions"]
    assert details["data"]["approved_business_items"] == ["social_assistance", "other"]
    step(org_db, iid, "review_onboarding", users["dol.admin"], APPROVE_ONBOARDING)
    assert _application(org_db, iid).approved_business_items == ["social_assistance"]


@pytest.mark.clause("R2.1")
def test_r2_1_the_reviewer_sees_the_screening_against_the_approved_purposes(org_db, users, doh):
    from engine.inspect import task_details

    iid = _submitted(org_db, doh, "DOH", {**FORM_1_1, "business_items": ["labor_inspection", "other"]})
    with org_db.sessions() as session:
        details = task_details(session, task(org_db, iid, "review_onboarding"))
    assert details["data"]["screening"]["outside"] == ["other"]
    assert details["data"]["approved_business_items"] == ["labor_inspection"]  # prefilled proposal


@pytest.mark.clause("R5.1")
def test_r5_1_form_1_1_needs_the_citizen_certificate_and_the_account(org_db, doh):
    iid = runtime.start_instance(org_db, PROCESS, doh, "DOH")
    bad = {**FORM_1_1, "citizen_certificate_uploaded": False, "egov_account": "x"}
    with pytest.raises(runtime.FormInvalid) as invalid:
        step(org_db, iid, "fill_form_1_1", doh, bad)
    assert {"citizen_certificate_uploaded", "egov_account"} <= set(invalid.value.fields)


@pytest.mark.clause("R5.5")
def test_r5_5_vendor_staff_cannot_become_agency_admin(org_db, doh):
    vendor = new_user(org_db, "doh.vendor", "DOH", vendor=True)
    iid = runtime.start_instance(org_db, PROCESS, vendor, "DOH")
    assert ready(org_db, iid) == [] and status(org_db, iid) == InstanceStatus.COMPLETED
    assert _application(org_db, iid).status == "vendor_refused" and roles(org_db, vendor) == set()


@pytest.mark.clause("R3.1")
def test_r3_1_only_staff_of_the_applying_agency_may_start_it(org_db, users, doh):
    with pytest.raises(NotAllowed):
        runtime.start_instance(org_db, PROCESS, users["dol.admin"], "DOH")
    with pytest.raises(NotAllowed):
        runtime.start_instance(org_db, PROCESS, users["dsw.staff"], "DAAN")
    assert runtime.start_instance(org_db, PROCESS, doh, "DOH")


@pytest.mark.clause("R2.1")
def test_r2_1_master_admin_may_not_approve_their_own_agencys_onboarding(org_db, users):
    iid = _submitted(org_db, users["dol.admin"], "DOL")
    with pytest.raises(NotAllowed):
        step(org_db, iid, "review_onboarding", users["dol.admin"], APPROVE_ONBOARDING)
    other = new_user(org_db, "dol.admin2", "DOL", roles=["master_admin"])
    step(org_db, iid, "review_onboarding", other, APPROVE_ONBOARDING)
    assert ("DOL", "agency_admin") in roles(org_db, users["dol.admin"])


@pytest.mark.clause("R4.1")
def test_r4_1_daan_onboarding_cannot_finish_until_dsw_consents(org_db, users):
    unapprove(org_db, "DAAN")
    iid = _submitted(org_db, users["daan.staff"], "DAAN")
    consent = task(org_db, iid, "give_consent")
    assert (consent.role, consent.lane, consent.agency_id) == ("delegating_agency", "delegating_agency",
                                                              _agency(org_db, "DSW").id)
    assert ready_names(org_db, iid) == ["give_consent"] and status(org_db, iid) == InstanceStatus.RUNNING
    for outsider in ("dol.admin", "daan.admin", "dsw.user", "daan.staff"):
        with pytest.raises((NotAllowed, runtime.NotFound)):
            step(org_db, iid, "give_consent", users[outsider], CONSENT)
    step(org_db, iid, "give_consent", users["dsw.admin"], CONSENT)
    assert ready_names(org_db, iid) == ["review_onboarding"]
    step(org_db, iid, "review_onboarding", users["dol.admin"], APPROVE_ONBOARDING)
    assert status(org_db, iid) == InstanceStatus.COMPLETED
    assert ("DAAN", "agency_admin") in roles(org_db, users["daan.staff"])
    with org_db.sessions() as session:
        stored = session.scalar(select(DelegationConsent))
    assert (stored.decision, stored.decided_by, stored.scope) == ("consented", "dsw.admin", ["social_assistance"])
    assert stored.reference == CONSENT["consent_reference"] and stored.decided_at is not None
    assert _application(org_db, iid).consent_id == stored.id


@pytest.mark.clause("R5.2")
def test_r5_2_refused_consent_stops_the_onboarding(org_db, users):
    unapprove(org_db, "DAAN")
    iid = _submitted(org_db, users["daan.staff"], "DAAN")
    step(org_db, iid, "give_consent", users["dsw.head"],
         {"consent_decision": "refuse", "consent_comment": "非本局委託業務 Not a commissioned task"})
    assert ready(org_db, iid) == [] and status(org_db, iid) == InstanceStatus.COMPLETED
    application = _application(org_db, iid)
    assert application.status == "consent_refused" and "Not a commissioned task" in application.reason
    assert ("DAAN", "agency_admin") not in roles(org_db, users["daan.staff"])
    assert _agency(org_db, "DAAN").approved_on is None
    with org_db.sessions() as session:
        stored = session.scalar(select(DelegationConsent))
    assert (stored.decision, stored.decided_by, stored.scope) == ("refused", "dsw.head", [])


@pytest.mark.clause("R4.1")
def test_r4_1_approved_items_must_lie_within_the_consented_scope(org_db, users):
    form = {**FORM_1_1, "business_items": ["social_assistance", "employment_services"]}
    iid = _submitted(org_db, users["daan.staff"], "DAAN", form)
    step(org_db, iid, "give_consent", users["dsw.admin"], {**CONSENT, "consented_items": ["social_assistance"]})
    step(org_db, iid, "review_onboarding", users["dol.admin"],
         {**APPROVE_ONBOARDING, "approved_business_items": ["employment_services"]})
    assert ready_names(org_db, iid) == ["review_onboarding"]
    step(org_db, iid, "review_onboarding", users["dol.admin"], APPROVE_ONBOARDING)
    assert _application(org_db, iid).status == "approved"


@pytest.mark.clause("R4.1")
def test_r4_1_consent_can_be_obtained_on_its_own(org_db, users):
    iid = runtime.start_instance(org_db, "delegation_consent", users["daan.staff"])
    step(org_db, iid, "request_consent", users["daan.staff"],
         {"business_items": ["social_assistance"], "purpose": "社會救助查核", "legal_basis": "社會救助法"})
    step(org_db, iid, "give_consent", users["dsw.admin"], CONSENT)
    assert status(org_db, iid) == InstanceStatus.COMPLETED
    with org_db.sessions() as session:
        stored = session.scalar(select(DelegationConsent))
    assert (stored.decision, stored.scope, stored.purpose) == ("consented", ["social_assistance"], "社會救助查核")


@pytest.mark.clause("R4.1")
def test_r4_1_an_agency_nobody_commissioned_needs_no_consent(org_db, users):
    iid = runtime.start_instance(org_db, "delegation_consent", users["dsw.staff"])
    assert ready(org_db, iid) == [] and status(org_db, iid) == InstanceStatus.COMPLETED


@pytest.mark.clause("R3.1")
def test_r3_1_approval_starts_the_agencys_obligations(org_db, users, doh, sim_clock):
    sim_clock.set(dt.datetime(2027, 3, 10, 9, 0, tzinfo=dt.UTC))
    iid = _submitted(org_db, doh, "DOH")
    step(org_db, iid, "review_onboarding", users["dol.admin"], APPROVE_ONBOARDING)
    assert _agency(org_db, "DOH").approved_on == dt.date(2027, 3, 10)
    timekeeping.advance_to(org_db, dt.datetime(2027, 4, 2, 9, 0, tzinfo=dt.UTC))
    with org_db.sessions() as session:
        opened = set(session.execute(select(ObligationPeriod.obligation_id, ObligationPeriod.label).where(
            ObligationPeriod.agency_id == _agency(org_db, "DOH").id)))
    assert ("monthly_register_check", "2027-03") in opened and ("quarterly_log_download", "2027-Q1") in opened
    assert not any(label < "2027-03" for o, label in opened if o == "monthly_register_check")


@pytest.mark.clause("R4.1")
def test_r4_1_demo_leaves_xinyis_onboarding_waiting_for_dsws_consent(org_db, users):
    from workflows import demo_instances

    demo_instances.add_in_flight_people(org_db)
    [iid, _] = demo_instances.agency_onboarding(org_db)
    consent = task(org_db, iid, "give_consent")
    assert consent.agency_id == _agency(org_db, "DSW").id and _agency(org_db, "XINYI").approved_on is None
    step(org_db, iid, "give_consent", users["dsw.admin"], CONSENT)
    assert ready_names(org_db, iid) == ["review_onboarding"]
