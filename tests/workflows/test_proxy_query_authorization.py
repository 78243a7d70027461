"""proxy_query_authorization (R6.2, Form 3): filed with an official document number, looked up by the register."""

from __future__ import annotations

import datetime as dt

import pytest
from process_walk import granted_webir_access, ready_names, status, step, task
from sqlalchemy import select

from engine import runtime
from engine.models import Agency, InstanceStatus, User
from workflows.access import today
from workflows.models_accounts import ProxyAuthorization
from workflows.org import grant_role, revoke_role
from workflows.proxy_query_authorization import active_proxy_authorization

PROCESS = "proxy_query_authorization"
START, END = today(), today() + dt.timedelta(days=29)
FORM_3 = {"proxy_username": "dsw.staff", "case_number": "115-社救-00042", "business_items": ["social_assistance"],
          "urgency": "urgent", "reason": "承辦人出差，個案急需審核 Caseworker away, urgent case",
          "valid_from": START.isoformat(), "valid_until": END.isoformat(), "authorisation_date": START.isoformat()}
FILE = {"official_document_number": "北市社助字第1150000010號", "filed_on": START.isoformat()}
AT = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # roles were granted a moment ago


def _give_user_role(db, username: str) -> None:
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        grant_role(session, user, session.scalar(select(Agency).where(Agency.code == "DSW")), "user")


def _authorised(db, users, form=FORM_3, authoriser: str = "dsw.user") -> int:
    iid = runtime.start_instance(db, PROCESS, users[authoriser])
    step(db, iid, "fill_form_3", users[authoriser], form)
    return iid


def _active(db, users, case=FORM_3["case_number"], at=AT, authoriser="dsw.user", proxy="dsw.staff"):
    with db.sessions() as session:
        return active_proxy_authorization(session, users[authoriser], users[proxy], case, at)


@pytest.mark.clause("R6.2")
def test_r6_2_filed_authorisation_is_stored_and_in_force_for_its_case_and_period(org_db, users):
    _give_user_role(org_db, "dsw.staff")
    iid = _authorised(org_db, users)
    assert task(org_db, iid, "file_form_3").role == "agency_admin"
    assert _active(org_db, users) is None  # not in force before it is filed
    step(org_db, iid, "file_form_3", users["dsw.admin"], FILE)
    assert status(org_db, iid) == InstanceStatus.COMPLETED
    found = _active(org_db, users)
    assert found is not None and found.instance_id == iid
    assert (found.status, found.official_document_number, found.filed_by) == ("filed", FILE[
        "official_document_number"], "dsw.admin")
    assert (found.scope, found.urgency, found.valid_until) == (["social_assistance"], "urgent", END)
    assert _active(org_db, users, case="115-社救-99999") is None
    assert _active(org_db, users, at=AT + dt.timedelta(days=31)) is None
    assert _active(org_db, users, authoriser="dsw.staff", proxy="dsw.user") is None


@pytest.mark.clause("R6.2")
def test_r6_2_authorisation_ends_with_the_proxys_access(org_db, users):
    _give_user_role(org_db, "dsw.staff")
    iid = _authorised(org_db, users)
    step(org_db, iid, "file_form_3", users["dsw.admin"], FILE)
    with org_db.transaction() as session:
        staff = session.get(User, users["dsw.staff"])
        revoke_role(session, staff, staff.agency, "user", "test")
    assert _active(org_db, users, at=AT) is None


@pytest.mark.clause("R6.2")
def test_r6_2_proxy_must_hold_the_webir_user_role(org_db, users):
    iid = _authorised(org_db, users)
    assert ready_names(org_db, iid) == [] and status(org_db, iid) == InstanceStatus.COMPLETED
    with org_db.sessions() as session:
        assert session.scalar(select(ProxyAuthorization)) is None


@pytest.mark.clause("R6.2")
def test_r6_2_authoriser_must_hold_the_webir_user_role(org_db, users):
    iid = _authorised(org_db, users, {**FORM_3, "proxy_username": "dsw.user"}, authoriser="dsw.staff")
    assert ready_names(org_db, iid) == []


@pytest.mark.clause("R6.2")
def test_r6_2_scope_must_lie_within_the_authorisers_granted_items(org_db, users):
    granted_webir_access(org_db, users, "dsw.staff", items=["social_assistance"])
    iid = _authorised(org_db, users, {**FORM_3, "proxy_username": "dsw.user", "business_items": ["labor_inspection"]},
                      authoriser="dsw.staff")
    assert ready_names(org_db, iid) == []
    iid = _authorised(org_db, users, {**FORM_3, "proxy_username": "dsw.user"}, authoriser="dsw.staff")
    assert ready_names(org_db, iid) == ["file_form_3"]


@pytest.mark.clause("R6.2")
def test_r6_2_period_must_not_end_before_it_starts(org_db, users):
    _give_user_role(org_db, "dsw.staff")
    iid = _authorised(org_db, users, {**FORM_3, "valid_until": (START - dt.timedelta(days=1)).isoformat()})
    assert ready_names(org_db, iid) == []


@pytest.mark.clause("R5.5")
def test_r5_5_vendor_staff_cannot_be_a_proxy(org_db, users):
    iid = _authorised(org_db, users, {**FORM_3, "proxy_username": "dsw.vendor"})
    assert ready_names(org_db, iid) == []
