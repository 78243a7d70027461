"""account_revocation (R5.4, R7.2): Form 1-2 gets its revocation date and the role ends in the same step."""

from __future__ import annotations

import datetime as dt

import pytest
from process_walk import QUERY_WORK, granted_webir_access, ready, ready_names, roles, status, step, task
from sqlalchemy import select

from engine import runtime
from engine.assignment import NotAllowed, my_task_filter
from engine.bundle import ModelFile
from engine.models import AuditEvent, HumanTask, InstanceStatus, ProcessInstance, User
from workflows import bundled
from workflows.account_revocation import earliest_destruction
from workflows.models import AccountApplication
from workflows.models_accounts import AccountRevocation

PROCESS = "account_revocation"
REVOKE = {"revocation_date": "2026-12-31", "form_annotated": True, "webir_access_removed": True}
def _request(db, starter_id: int, subject: str | None = None) -> int:
    iid = runtime.start_instance(db, PROCESS, starter_id)
    form = {"reason_kind": "resigned", "reason": "調職 Transferred", "effective_date": "2026-12-31"}
    step(db, iid, "fill_revocation_request", starter_id, {**form, **({"subject_username": subject} if subject else {})})
    return iid


def _revocation(db, iid) -> AccountRevocation | None:
    with db.sessions() as session:
        return session.scalar(select(AccountRevocation).where(AccountRevocation.instance_id == iid))


@pytest.mark.clause("R5.4")
def test_r5_4_revocation_writes_the_date_on_form_1_2_and_removes_the_role(org_db, users):
    application_iid = granted_webir_access(org_db, users, "dsw.staff")
    assert ("DSW", "user") in roles(org_db, users["dsw.staff"])
    iid = _request(org_db, users["dsw.staff"])
    revoke = task(org_db, iid, "revoke_account")
    assert (revoke.role, revoke.due_at is not None) == ("agency_admin", True)
    step(org_db, iid, "revoke_account", users["dsw.admin"], REVOKE)
    assert status(org_db, iid) == InstanceStatus.COMPLETED
    assert ("DSW", "user") not in roles(org_db, users["dsw.staff"])
    with org_db.sessions() as session:
        form = session.scalar(select(AccountApplication).where(AccountApplication.instance_id == application_iid))
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == iid)).all()
    assert form.revoked_on == dt.date(2026, 12, 31)
    assert form.destroy_not_before == dt.date(2029, 12, 31)
    revocation = _revocation(org_db, iid)
    assert (revocation.application_id, revocation.revoked_by, revocation.requested_by) == (form.id, "dsw.admin",
                                                                                           "dsw.staff")
    assert "role_revoked" in events and "account_revoked" in events


@pytest.mark.clause("R7.2")
def test_r7_2_earliest_destruction_is_three_years_after_revocation():
    assert earliest_destruction(dt.date(2026, 12, 31)) == dt.date(2029, 12, 31)
    assert earliest_destruction(dt.date(2028, 2, 29)) == dt.date(2031, 2, 28)


@pytest.mark.clause("R5.4")
def test_r5_4_unit_admin_names_the_user_and_the_retention_date_is_stored(org_db, users):
    iid = _request(org_db, users["dsw.unit"], "dsw.user")
    step(org_db, iid, "revoke_account", users["dsw.admin"], REVOKE)
    assert ("DSW", "user") not in roles(org_db, users["dsw.user"])
    revocation = _revocation(org_db, iid)
    assert revocation.application_id is None and revocation.destroy_not_before == dt.date(2029, 12, 31)


@pytest.mark.clause("R5.4")
def test_r5_4_agency_admin_who_notified_may_not_revoke_in_the_same_instance(org_db, users):
    iid = _request(org_db, users["dsw.admin"], "dsw.user")
    with pytest.raises(NotAllowed):
        step(org_db, iid, "revoke_account", users["dsw.admin"], REVOKE)
    step(org_db, iid, "revoke_account", users["dsw.admin2"], REVOKE)
    assert ("DSW", "user") not in roles(org_db, users["dsw.user"])


@pytest.mark.clause("R5.4")
def test_r5_4_staff_may_not_name_someone_else(org_db, users):
    iid = _request(org_db, users["dsw.staff"], "dsw.user")
    assert ready(org_db, iid) == [] and status(org_db, iid) == InstanceStatus.COMPLETED
    assert _revocation(org_db, iid) is None and ("DSW", "user") in roles(org_db, users["dsw.user"])


@pytest.mark.clause("R5.4")
def test_r5_4_nobody_outside_the_agency_and_nobody_without_access_is_accepted(org_db, users):
    for subject in ("daan.staff", "dsw.staff"):
        iid = _request(org_db, users["dsw.admin"], subject)
        assert ready_names(org_db, iid) == [] and _revocation(org_db, iid) is None


@pytest.mark.clause("R5.4")
def test_r5_4_revoked_user_no_longer_sees_or_completes_webir_tasks(org_db, users):
    with org_db.transaction() as session:
        bundled.deploy_files(session, [ModelFile("webir_query_work.bpmn", QUERY_WORK)], "test", "test")
    work = [runtime.start_instance(org_db, "webir_query_work", users["dsw.staff"]) for _ in range(2)]
    claimed, pooled = task(org_db, work[0], "query"), task(org_db, work[1], "query")
    runtime.claim_task(org_db, claimed.id, users["dsw.user"])

    def mine() -> set[int]:
        with org_db.sessions() as session:
            me = session.get(User, users["dsw.user"])
            return set(session.scalars(select(HumanTask.id).join(
                ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(my_task_filter(session, me))))

    assert {claimed.id, pooled.id} <= mine()
    iid = _request(org_db, users["dsw.unit"], "dsw.user")
    step(org_db, iid, "revoke_account", users["dsw.admin"], REVOKE)
    assert not {claimed.id, pooled.id} & mine()
    assert task(org_db, work[0], "query").assignee_id is None  # back to the remaining users
    for task_id in (claimed.id, pooled.id):
        with pytest.raises(NotAllowed):
            runtime.complete_task(org_db, task_id, users["dsw.user"], {})
    assert _revocation(org_db, iid).revocation_date == dt.date(2026, 12, 31)
