"""user_account_application implements R5.3 (unit supervisor, then agency admin, within the agency's approved
business) and R5.5 (no vendors)."""

from __future__ import annotations

import pytest
from conftest import FORM_1_2, GRANT
from process_walk import CONFIRM_NEED, ready_names, status, step
from sqlalchemy import select

from engine import runtime
from engine.assignment import NotAllowed
from engine.inspect import task_details
from engine.models import Agency, HumanTask, InstanceStatus, RoleAssignment, TaskStatus, User
from workflows import org
from workflows.models import AccountApplication
from workflows.models_accounts import AgencyBusinessItem


def _ready(db, iid):
    with db.sessions() as session:
        return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == iid,
                                                             HumanTask.status == TaskStatus.READY)))


def _application(db, iid) -> AccountApplication:
    with db.sessions() as session:
        return session.scalar(select(AccountApplication).where(AccountApplication.instance_id == iid))


def _roles(db, user_id) -> set[str]:
    with db.sessions() as session:
        return set(session.scalars(select(RoleAssignment.role).where(RoleAssignment.user_id == user_id,
                                                                     RoleAssignment.revoked_at.is_(None))))


def _apply(db, users, username, form=FORM_1_2):
    iid = runtime.start_instance(db, "user_account_application", users[username])
    runtime.complete_task(db, _ready(db, iid)[0].id, users[username], form)
    return iid


def _confirmed(db, users, username="dsw.staff", form=FORM_1_2):
    """Form 1-2 filled in and the business need confirmed by the unit supervisor (dsw.unit)."""
    iid = _apply(db, users, username, form)
    step(db, iid, "confirm_business_need", users["dsw.unit"], CONFIRM_NEED)
    return iid


def _approve_items(db, code: str, items: list[str]) -> None:
    """Record the agency's approved business items, as agency_onboarding does (R2.1, R3.1)."""
    import datetime as dt

    with db.transaction() as session:
        agency = session.scalar(select(Agency).where(Agency.code == code))
        for item in items:
            session.add(AgencyBusinessItem(agency_id=agency.id, item=item, approved_on=dt.date(2026, 1, 1)))


@pytest.mark.clause("R5.3")
def test_r5_3_granted_application_records_user_role_and_keeps_form_1_2(org_db, users):
    iid = _confirmed(org_db, users)
    step(org_db, iid, "review_application", users["dsw.admin"], GRANT)
    application = _application(org_db, iid)
    assert application.outcome == "granted" and application.decided_by == "dsw.admin"
    assert application.form["legal_basis"] == FORM_1_2["legal_basis"]
    assert application.egov_account == "tsai.egov" and application.business_items == ["social_assistance"]
    assert "user" in _roles(org_db, users["dsw.staff"])


@pytest.mark.clause("R5.3")
def test_r5_3_unit_supervisor_confirms_the_business_need_before_the_agency_admin(org_db, users):
    iid = _apply(org_db, users, "dsw.staff")
    [confirm] = _ready(org_db, iid)
    assert (confirm.name, confirm.role, confirm.lane, confirm.due_at is not None) == (
        "confirm_business_need", "unit_admin", "unit_admin", True)
    with pytest.raises(NotAllowed):
        runtime.complete_task(org_db, confirm.id, users["dsw.admin"], CONFIRM_NEED)
    step(org_db, iid, "confirm_business_need", users["dsw.unit"], CONFIRM_NEED)
    assert ready_names(org_db, iid) == ["review_application"]


@pytest.mark.clause("R5.3")
def test_r5_3_unit_supervisor_not_confirming_refuses_the_application(org_db, users):
    iid = _apply(org_db, users, "dsw.staff")
    step(org_db, iid, "confirm_business_need", users["dsw.unit"],
         {"unit_decision": "reject", "unit_comment": "非本職業務 Not part of the job"})
    assert ready_names(org_db, iid) == [] and status(org_db, iid) == InstanceStatus.COMPLETED
    application = _application(org_db, iid)
    assert application.outcome == "refused" and "Not part of the job" in application.reason
    assert "user" not in _roles(org_db, users["dsw.staff"])


@pytest.mark.clause("R5.3")
def test_r5_3_agency_without_unit_admin_goes_straight_to_the_agency_admin(org_db, users):
    iid = _apply(org_db, users, "daan.staff")
    assert ready_names(org_db, iid) == ["review_application"]
    step(org_db, iid, "review_application", users["daan.admin"], GRANT)
    assert "user" in _roles(org_db, users["daan.staff"])


@pytest.mark.clause("R5.3")
def test_r5_3_refused_application_keeps_reason_and_grants_nothing(org_db, users):
    iid = _confirmed(org_db, users)
    step(org_db, iid, "review_application", users["dsw.admin"],
         {"decision": "refuse", "review_comment": "超出業務範圍 Outside business scope"})
    application = _application(org_db, iid)
    assert (application.outcome, application.reason) == ("refused", "超出業務範圍 Outside business scope")
    assert "user" not in _roles(org_db, users["dsw.staff"])


@pytest.mark.clause("R5.3")
def test_r5_3_grant_requires_all_three_checks(org_db, users):
    iid = _confirmed(org_db, users)
    with pytest.raises(runtime.FormInvalid) as invalid:
        step(org_db, iid, "review_application", users["dsw.admin"], {**GRANT, "within_business_scope": False})
    assert "within_business_scope" in invalid.value.fields


@pytest.mark.clause("R5.3")
def test_r5_3_granted_items_must_lie_within_the_agencys_approved_business(org_db, users):
    _approve_items(org_db, "DSW", ["social_assistance"])
    form = {**FORM_1_2, "business_items": ["social_assistance", "labor_inspection"]}
    iid = _confirmed(org_db, users, form=form)
    with org_db.sessions() as session:
        review = session.get(HumanTask, _ready(org_db, iid)[0].id)
        details = task_details(session, review)
    assert details["data"]["account_screening"]["outside_agency_scope"] == ["labor_inspection"]
    step(org_db, iid, "review_application", users["dsw.admin"], GRANT)  # all requested items: too many
    assert ready_names(org_db, iid) == ["review_application"] and "user" not in _roles(org_db, users["dsw.staff"])
    step(org_db, iid, "review_application", users["dsw.admin"],
         {**GRANT, "granted_business_items": ["social_assistance"]})
    assert _application(org_db, iid).business_items == ["social_assistance"]
    assert "user" in _roles(org_db, users["dsw.staff"])


@pytest.mark.clause("R5.3")
def test_r5_3_agency_approved_before_going_live_accepts_any_item(org_db, users):
    form = {**FORM_1_2, "business_items": ["labor_inspection", "other"]}
    iid = _confirmed(org_db, users, form=form)
    step(org_db, iid, "review_application", users["dsw.admin"], GRANT)
    assert _application(org_db, iid).business_items == ["labor_inspection", "other"]


@pytest.mark.clause("R5.3")
def test_r5_3_nobody_approves_their_own_application(org_db, users):
    iid = _confirmed(org_db, users, "dsw.admin")
    with pytest.raises(NotAllowed):
        step(org_db, iid, "review_application", users["dsw.admin"], GRANT)
    step(org_db, iid, "review_application", users["dsw.admin2"], GRANT)
    assert "user" in _roles(org_db, users["dsw.admin"])


@pytest.mark.clause("R5.3")
def test_r5_3_unit_supervisor_applying_is_confirmed_by_nobody_but_another(org_db, users):
    iid = _apply(org_db, users, "dsw.unit")  # the only unit admin: the step is skipped, not self-confirmed
    assert ready_names(org_db, iid) == ["review_application"]


@pytest.mark.clause("R5.5")
def test_r5_5_vendor_is_refused_without_reaching_the_agency_admin(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.vendor"])
    with org_db.sessions() as session:
        tasks = session.scalars(select(HumanTask.name).where(HumanTask.instance_id == iid)).all()
    application = _application(org_db, iid)
    assert tasks == []
    assert application.outcome == "refused" and application.reason.startswith("R5.5")
    assert _roles(org_db, users["dsw.vendor"]) == set()


@pytest.mark.clause("R5.5")
def test_r5_5_applicant_declaring_vendor_employment_is_refused(org_db, users):
    iid = _apply(org_db, users, "dsw.staff", {**FORM_1_2, "employment_type": "outsourced_vendor"})
    assert _ready(org_db, iid) == []
    assert _application(org_db, iid).reason.startswith("R5.5")


@pytest.mark.clause("R5.5")
def test_r5_5_vendor_can_never_be_given_a_role_directly(org_db):
    with org_db.transaction() as session:
        vendor = session.scalar(select(User).where(User.username == "dsw.vendor"))
        agency = session.scalar(select(Agency).where(Agency.code == "DSW"))
        with pytest.raises(org.OrgError, match="R5.5"):
            org.grant_role(session, vendor, agency, "user")


@pytest.mark.clause("R5.3")
def test_r5_3_only_staff_of_the_agency_may_apply_for_it(org_db, users):
    with pytest.raises(NotAllowed):
        runtime.start_instance(org_db, "user_account_application", users["dol.admin"], "DSW")
