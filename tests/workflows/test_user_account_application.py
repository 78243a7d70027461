"""user_account_application implements R5.3 (Form 1-2 reviewed by the agency admin) and R5.5 (no vendors)."""

from __future__ import annotations

import pytest
from conftest import FORM_1_2, GRANT
from sqlalchemy import select

from engine import runtime
from engine.models import Agency, HumanTask, RoleAssignment, TaskStatus, User
from workflows import org
from workflows.models import AccountApplication


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


def test_r5_3_granted_application_records_user_role_and_keeps_form_1_2(org_db, users):
    iid = _apply(org_db, users, "dsw.staff")
    runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.admin"], GRANT)
    application = _application(org_db, iid)
    assert application.outcome == "granted" and application.decided_by == "dsw.admin"
    assert application.form["legal_basis"] == FORM_1_2["legal_basis"]
    assert application.egov_account == "tsai.egov"
    assert "user" in _roles(org_db, users["dsw.staff"])


def test_r5_3_refused_application_keeps_reason_and_grants_nothing(org_db, users):
    iid = _apply(org_db, users, "dsw.staff")
    runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.admin"],
                          {"decision": "refuse", "review_comment": "超出業務範圍 Outside business scope"})
    application = _application(org_db, iid)
    assert (application.outcome, application.reason) == ("refused", "超出業務範圍 Outside business scope")
    assert "user" not in _roles(org_db, users["dsw.staff"])


def test_r5_3_grant_requires_all_three_checks(org_db, users):
    iid = _apply(org_db, users, "dsw.staff")
    with pytest.raises(runtime.FormInvalid) as invalid:
        runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.admin"],
                              {**GRANT, "within_business_scope": False})
    assert "within_business_scope" in invalid.value.fields


def test_r5_5_vendor_is_refused_without_reaching_the_agency_admin(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.vendor"])
    with org_db.sessions() as session:
        tasks = session.scalars(select(HumanTask.name).where(HumanTask.instance_id == iid)).all()
    application = _application(org_db, iid)
    assert tasks == []
    assert application.outcome == "refused" and application.reason.startswith("R5.5")
    assert _roles(org_db, users["dsw.vendor"]) == set()


def test_r5_5_applicant_declaring_vendor_employment_is_refused(org_db, users):
    iid = _apply(org_db, users, "dsw.staff", {**FORM_1_2, "employment_type": "outsourced_vendor"})
    assert _ready(org_db, iid) == []
    assert _application(org_db, iid).reason.startswith("R5.5")


def test_r5_5_vendor_can_never_be_given_a_role_directly(org_db):
    with org_db.transaction() as session:
        vendor = session.scalar(select(User).where(User.username == "dsw.vendor"))
        agency = session.scalar(select(Agency).where(Agency.code == "DSW"))
        with pytest.raises(org.OrgError, match="R5.5"):
            org.grant_role(session, vendor, agency, "user")
