"""agency_admin_change (R3.2, R2.2, R5.5): the master admin approves; the admin role and personal tasks move."""

from __future__ import annotations

import pytest
from conftest import FORM_1_2
from process_walk import CONFIRM_NEED, ready, ready_names, roles, status, step, task
from sqlalchemy import select

from engine import runtime
from engine.assignment import NotAllowed
from engine.models import InstanceStatus
from workflows.models_accounts import AgencyAdminChange

PROCESS = "agency_admin_change"
CHANGE = {"outgoing_admin": "dsw.admin", "incoming_admin": "dsw.user", "incoming_egov_account": "chou.egov",
          "incoming_certificate_uploaded": True, "reason": "原管理者調職 The admin was transferred",
          "official_letter_number": "北市社資字第1150000003號", "application_date": "2026-06-01"}
APPROVE = {"decision": "approve"}


def _applied(db, users, starter: str = "dsw.head", **changes) -> int:
    iid = runtime.start_instance(db, PROCESS, users[starter])
    step(db, iid, "fill_admin_change", users[starter], {**CHANGE, **changes})
    return iid


def _review_claimed_by_dsw_admin(db, users, applicant: str) -> int:
    """An account application waiting for the agency admin's review, claimed by dsw.admin; returns the task id."""
    iid = runtime.start_instance(db, "user_account_application", users[applicant])
    step(db, iid, "fill_form_1_2", users[applicant], FORM_1_2)
    if "confirm_business_need" in ready_names(db, iid):
        step(db, iid, "confirm_business_need", users["dsw.unit"], CONFIRM_NEED)
    review = task(db, iid, "review_application")
    runtime.claim_task(db, review.id, users["dsw.admin"])
    return review.id


def _task_assignee(db, iid_task: int):
    from engine.models import HumanTask

    with db.sessions() as session:
        return session.get(HumanTask, iid_task).assignee_id


def _change(db, iid) -> AgencyAdminChange | None:
    with db.sessions() as session:
        return session.scalar(select(AgencyAdminChange).where(AgencyAdminChange.instance_id == iid))


@pytest.mark.clause("R3.2")
def test_r3_2_approved_change_moves_the_role_and_the_old_admins_tasks(org_db, users):
    personal = _review_claimed_by_dsw_admin(org_db, users, "dsw.staff")
    iid = _applied(org_db, users)
    review = task(org_db, iid, "review_admin_change")
    assert review.role == "master_admin" and review.due_at is not None
    step(org_db, iid, "review_admin_change", users["dol.admin"], APPROVE)
    assert status(org_db, iid) == InstanceStatus.COMPLETED
    assert ("DSW", "agency_admin") not in roles(org_db, users["dsw.admin"])
    assert ("DSW", "agency_admin") in roles(org_db, users["dsw.user"])
    assert _task_assignee(org_db, personal) == users["dsw.user"]
    change = _change(org_db, iid)
    assert (change.outcome, change.decided_by, change.tasks_reassigned) == ("approved", "dol.admin", 1)
    with pytest.raises(NotAllowed):
        runtime.complete_task(org_db, personal, users["dsw.admin"], {"decision": "refuse", "review_comment": "no"})


@pytest.mark.clause("R3.2")
def test_r3_2_a_moved_task_the_new_admin_started_goes_back_to_the_pool(org_db, users):
    own = _review_claimed_by_dsw_admin(org_db, users, "dsw.user")
    iid = _applied(org_db, users)
    step(org_db, iid, "review_admin_change", users["dol.admin"], APPROVE)
    assert _task_assignee(org_db, own) is None


@pytest.mark.clause("R3.2")
def test_r3_2_refused_change_changes_nothing(org_db, users):
    iid = _applied(org_db, users)
    step(org_db, iid, "review_admin_change", users["dol.admin"],
         {"decision": "refuse", "review_comment": "未附公文 No official letter attached"})
    assert ("DSW", "agency_admin") in roles(org_db, users["dsw.admin"])
    assert ("DSW", "agency_admin") not in roles(org_db, users["dsw.user"])
    change = _change(org_db, iid)
    assert (change.outcome, change.reason) == ("refused", "未附公文 No official letter attached")


@pytest.mark.clause("R3.2")
def test_r3_2_only_the_agency_admin_or_head_may_apply(org_db, users):
    iid = _applied(org_db, users, "dsw.staff")
    assert ready(org_db, iid) == [] and status(org_db, iid) == InstanceStatus.COMPLETED
    assert _change(org_db, iid) is None


@pytest.mark.parametrize(("outgoing", "incoming"), [("dsw.unit", "dsw.user"), ("dsw.admin", "daan.staff"),
                                                    ("dsw.admin", "dsw.admin2")])
@pytest.mark.clause("R3.2")
def test_r3_2_outgoing_must_be_admin_and_incoming_staff_of_the_agency(org_db, users, outgoing, incoming):
    iid = _applied(org_db, users, outgoing_admin=outgoing, incoming_admin=incoming)
    assert ready_names(org_db, iid) == []


@pytest.mark.clause("R5.5")
def test_r5_5_vendor_staff_cannot_become_agency_admin(org_db, users):
    iid = _applied(org_db, users, incoming_admin="dsw.vendor")
    assert ready_names(org_db, iid) == [] and ("DSW", "agency_admin") in roles(org_db, users["dsw.admin"])


@pytest.mark.clause("R3.2")
def test_r3_2_the_applicant_cannot_approve_their_own_change(org_db, users):
    from process_walk import new_user

    master_head = new_user(org_db, "dol.head", "DOL", roles=["agency_head", "master_admin"])
    iid = runtime.start_instance(org_db, PROCESS, master_head)
    step(org_db, iid, "fill_admin_change", master_head,
         {**CHANGE, "outgoing_admin": "dol.admin", "incoming_admin": "dol.audit"})
    assert ready_names(org_db, iid) == []  # dol.admin is no agency_admin of DOL: not accepted
    with org_db.transaction() as session:
        from engine.models import Agency, User
        from workflows.org import grant_role

        grant_role(session, session.get(User, users["dol.admin"]),
                   session.scalar(select(Agency).where(Agency.code == "DOL")), "agency_admin")
    iid = runtime.start_instance(org_db, PROCESS, master_head)
    step(org_db, iid, "fill_admin_change", master_head,
         {**CHANGE, "outgoing_admin": "dol.admin", "incoming_admin": "dol.audit"})
    with pytest.raises(NotAllowed):
        step(org_db, iid, "review_admin_change", master_head, APPROVE)
    step(org_db, iid, "review_admin_change", users["dol.admin"], APPROVE)
    assert ("DOL", "agency_admin") in roles(org_db, users["dol.audit"])
