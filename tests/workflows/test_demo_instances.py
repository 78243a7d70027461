"""`webir init-db --demo` leaves work in flight for every lifecycle process of the account regulation (issue 4):
onboarding (a commissioned agency waiting for consent, another waiting for review), a user application, a
revocation, an admin change, a proxy authorization and a password-rotation period, each in the state described."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.models import Agency, HumanTask, InstanceStatus, ObligationPeriod, ProcessInstance, TaskStatus, User
from workflows import bundled, demo

TAIPEI = dt.timezone(dt.timedelta(hours=8))
LIFECYCLE = {"agency_onboarding", "user_account_application", "account_revocation", "agency_admin_change",
             "proxy_query_authorization", "password_rotation"}


@pytest.fixture
def demo_db(db, sim_clock):
    """What `webir init-db --demo` does on a first run, on 30 November 2026."""
    sim_clock.set(dt.datetime(2026, 11, 30, 10, 0, tzinfo=TAIPEI))
    with db.transaction() as session:
        bundled.deploy_bundled(session)
        assert demo.load_demo(session, demo.demo_approval_date(dt.date(2026, 11, 30)))
    return db, demo.start_demo_instances(db)


def _tasks(session, instance_id: int, status=TaskStatus.READY) -> list[tuple[str, str | None, str, str | None]]:
    """(task name, role, agency code, assignee username) of the instance's tasks in this status."""
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == status)
                           .order_by(HumanTask.id))
    return [(t.name, t.role, session.get(Agency, t.agency_id).code,
             session.get(User, t.assignee_id).username if t.assignee_id else None) for t in rows]


def _instance(session, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    assert instance.error_message is None
    return instance


def test_demo_leaves_every_lifecycle_process_in_flight(demo_db):
    db, started = demo_db
    assert LIFECYCLE <= set(started)
    with db.sessions() as session:
        for process_id, ids in started.items():
            assert ids, process_id
            statuses = {_instance(session, i).status for i in ids}
            assert InstanceStatus.RUNNING in statuses, process_id
            assert {_instance(session, i).process_id for i in ids} == {process_id}


def test_demo_onboarding_xinyi_waits_for_dsws_consent_and_doh_for_the_master_admin(demo_db):
    db, started = demo_db
    xinyi, doh = started["agency_onboarding"]
    with db.sessions() as session:
        assert _tasks(session, xinyi) == [("give_consent", "delegating_agency", "DSW", None)]
        assert _tasks(session, doh) == [("review_onboarding", "master_admin", "DOL", None)]
        assert session.scalar(select(Agency.approved_on).where(Agency.code == "XINYI")) is None


def test_demo_user_applications_two_granted_one_waiting_for_the_unit_supervisor(demo_db):
    db, started = demo_db
    *granted, waiting = started["user_account_application"]
    with db.sessions() as session:
        assert [_instance(session, i).status for i in granted] == [InstanceStatus.COMPLETED] * 2
        assert _tasks(session, waiting) == [("confirm_business_need", "unit_admin", "DSW", None)]


def test_demo_revocation_admin_change_and_proxy_wait_for_their_reviewers(demo_db):
    db, started = demo_db
    with db.sessions() as session:
        assert _tasks(session, started["account_revocation"][0]) == [("revoke_account", "agency_admin", "DSW", None)]
        assert _tasks(session, started["agency_admin_change"][0]) == [
            ("review_admin_change", "master_admin", "DOL", None)]
        assert _tasks(session, started["proxy_query_authorization"][0]) == [
            ("file_form_3", "agency_admin", "DSW", None)]


def test_demo_password_rotation_period_has_one_acknowledgement_per_account_one_done(db, sim_clock):
    sim_clock.set(dt.datetime(2026, 11, 10, 10, 0, tzinfo=TAIPEI))  # approved 2026-08-01: 2026-10-30 is open
    with db.transaction() as session:
        bundled.deploy_bundled(session)
        demo.load_demo(session, demo.demo_approval_date(dt.date(2026, 11, 10)))
    [iid] = demo.start_demo_instances(db)["password_rotation"]
    with db.sessions() as session:
        [period] = session.scalars(select(ObligationPeriod).where(
            ObligationPeriod.obligation_id == "password_rotation")).all()
        assert (period.instance_id, period.label) == (iid, "2026-10-30")
        assert _tasks(session, iid, TaskStatus.COMPLETED) == [
            ("acknowledge_password_change", None, "DSW", "dsw.user")]
        assert sorted(a for _, _, _, a in _tasks(session, iid)) == [
            "dsw.admin", "dsw.admin2", "dsw.deputy", "dsw.leaver"]


def test_demo_password_rotation_past_due_shows_the_escalated_acknowledgements(demo_db):
    db, started = demo_db  # 30 November: the 2026-10-30 period was due on 13 November
    [iid] = started["password_rotation"]
    with db.sessions() as session:
        ready = _tasks(session, iid)
        assert sorted(n for n, _, _, _ in ready) == ["follow_up_overdue_admin"] * 2 + ["follow_up_overdue_user"] * 3
        assert {(n, r) for n, r, _, _ in ready} == {("follow_up_overdue_admin", "agency_head"),
                                                   ("follow_up_overdue_user", "agency_admin")}
