"""password_rotation (R5.6): a periodic reminder PER ADMIN AND USER, acknowledged in each one's own inbox;
an acknowledgement still open at the period's due time escalates (a user's to the agency admins, an admin's to
the agency head). The calendar keeps one obligation row per agency and period (label = opening date)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine import obligations, runtime, timekeeping
from engine.assignment import NotAllowed, my_task_filter
from engine.models import Agency, HumanTask, InstanceStatus, ObligationPeriod, ProcessInstance, TaskStatus, User
from engine.obligation_defs import DefinitionError, parse_definitions
from workflows import org

TAIPEI = dt.timezone(dt.timedelta(hours=8))
PERIOD = {"obligation": "password_rotation", "period": "2027-03-31", "opens_at": "2027-03-31T00:00:00+08:00",
          "due_at": "2027-04-14T23:59:59+08:00", "clauses": ["R5.6"]}
ACK = {"password_changed": True, "changed_on": "2027-04-02"}
FOLLOW_UP = {"followed_up_on": "2027-04-16", "outcome": "reminded", "note": "已電話催辦 Reminded by phone"}
DSW_ACCOUNTS = {"dsw.admin", "dsw.admin2", "dsw.user"}  # agency admins and granted WebIR users of DSW


@pytest.fixture
def rotation_db(org_db, sim_clock):
    sim_clock.set(dt.datetime(2027, 3, 31, 9, 0, tzinfo=TAIPEI))
    return org_db


def _start(db, users) -> int:
    return runtime.start_instance(db, "password_rotation", users["dol.admin"], agency_code="DSW", data=PERIOD)


def _tasks(db, iid, status=TaskStatus.READY) -> dict[str, HumanTask]:
    """Ready tasks of the instance keyed by '<task name>:<username the task is for, or its role>'."""
    with db.sessions() as session:
        rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == status))
        return {f"{t.name}:{session.get(User, t.assignee_id).username if t.assignee_id else t.role}": t
                for t in rows}


def _status(db, iid) -> InstanceStatus:
    with db.sessions() as session:
        return session.get(ProcessInstance, iid).status


def test_r5_6_every_agency_admin_and_webir_user_gets_their_own_acknowledgement(rotation_db, users):
    iid = _start(rotation_db, users)
    tasks = _tasks(rotation_db, iid)
    assert set(tasks) == {f"acknowledge_password_change:{u}" for u in DSW_ACCOUNTS}
    for task in tasks.values():
        assert task.role is None and task.agency_id is not None
        assert task.due_at.astimezone(TAIPEI) == dt.datetime(2027, 4, 14, 23, 59, 59, tzinfo=TAIPEI)
    with rotation_db.sessions() as session:  # each sees exactly their own in the inbox; staff see none
        for username in (*DSW_ACCOUNTS, "dsw.staff", "dsw.unit", "dsw.vendor"):
            user = session.get(User, users[username])
            mine = session.scalars(select(HumanTask.name).join(ProcessInstance).where(
                HumanTask.instance_id == iid, HumanTask.status == TaskStatus.READY,
                my_task_filter(session, user))).all()
            assert mine == (["acknowledge_password_change"] if username in DSW_ACCOUNTS else [])


def test_r5_6_nobody_acknowledges_for_someone_else(rotation_db, users):
    iid = _start(rotation_db, users)
    task = _tasks(rotation_db, iid)["acknowledge_password_change:dsw.user"]
    for other in ("dsw.admin", "dsw.head", "dol.admin"):
        with pytest.raises((NotAllowed, runtime.NotFound)):
            runtime.complete_task(rotation_db, task.id, users[other], ACK)
    with pytest.raises(runtime.FormInvalid) as invalid:
        runtime.complete_task(rotation_db, task.id, users["dsw.user"], {**ACK, "password_changed": False})
    assert "password_changed" in invalid.value.fields


def test_r5_6_period_completes_when_every_account_acknowledged(rotation_db, users):
    iid = _start(rotation_db, users)
    for key, task in _tasks(rotation_db, iid).items():
        assert _status(rotation_db, iid) == InstanceStatus.RUNNING
        runtime.complete_task(rotation_db, task.id, users[key.split(":")[1]], ACK)
    assert _status(rotation_db, iid) == InstanceStatus.COMPLETED
    done = _tasks(rotation_db, iid, TaskStatus.COMPLETED)
    with rotation_db.sessions() as session:
        assert {session.get(User, t.completed_by_id).username for t in done.values()} == DSW_ACCOUNTS


def test_r5_6_overdue_user_escalates_to_agency_admin_and_overdue_admin_to_head(rotation_db, users):
    iid = _start(rotation_db, users)
    runtime.complete_task(rotation_db, _tasks(rotation_db, iid)["acknowledge_password_change:dsw.admin"].id,
                          users["dsw.admin"], ACK)
    timekeeping.advance_to(rotation_db, dt.datetime(2027, 4, 14, 23, 0, tzinfo=TAIPEI))
    assert len(_tasks(rotation_db, iid)) == 2  # not due yet: nothing escalated
    timekeeping.advance_to(rotation_db, dt.datetime(2027, 4, 15, 9, 0, tzinfo=TAIPEI))
    tasks = _tasks(rotation_db, iid)
    assert set(tasks) == {"follow_up_overdue_user:agency_admin", "follow_up_overdue_admin:agency_head"}
    cancelled = _tasks(rotation_db, iid, TaskStatus.CANCELLED)
    assert set(cancelled) == {"acknowledge_password_change:dsw.admin2", "acknowledge_password_change:dsw.user"}
    with pytest.raises(NotAllowed):  # an admin does not follow up the admins: the head does
        runtime.complete_task(rotation_db, tasks["follow_up_overdue_admin:agency_head"].id, users["dsw.admin"],
                              FOLLOW_UP)
    runtime.complete_task(rotation_db, tasks["follow_up_overdue_user:agency_admin"].id, users["dsw.admin2"],
                          FOLLOW_UP)
    runtime.complete_task(rotation_db, tasks["follow_up_overdue_admin:agency_head"].id, users["dsw.head"],
                          {**FOLLOW_UP, "outcome": "changed_late"})
    assert _status(rotation_db, iid) == InstanceStatus.COMPLETED


def test_r5_6_revoked_users_and_staff_without_webir_access_get_no_reminder(rotation_db, users):
    with rotation_db.transaction() as session:
        user, agency = session.get(User, users["dsw.user"]), session.scalar(select(Agency).where(Agency.code == "DSW"))
        org.revoke_role(session, user, agency, "user", "test")
    iid = _start(rotation_db, users)
    assert set(_tasks(rotation_db, iid)) == {"acknowledge_password_change:dsw.admin",
                                            "acknowledge_password_change:dsw.admin2"}


def test_r5_6_agency_without_admins_or_users_completes_its_period_at_once(rotation_db, users):
    with rotation_db.transaction() as session:
        org.create_agency(session, "EMPTY", "空機關 Empty agency", approved_on=dt.date(2027, 1, 1), actor="test")
    iid = runtime.start_instance(rotation_db, "password_rotation", users["dol.admin"], agency_code="EMPTY",
                                 data=PERIOD)
    assert _status(rotation_db, iid) == InstanceStatus.COMPLETED


def test_r5_6_calendar_opens_one_period_per_agency_with_a_task_per_account_and_no_calendar_escalation(
        db, sim_clock):
    sim_clock.set(dt.datetime(2027, 3, 30, 9, 0, tzinfo=TAIPEI))
    from workflows import bundled

    with db.transaction() as session:
        bundled.deploy_bundled(session)
        org.create_agency(session, "DOL", "勞動局", master=True)
        org.create_agency(session, "TPE", "測試機關 Test agency", approved_on=dt.date(2026, 12, 31))
        org.create_user(session, "tpe.admin", "TPE", "pw-123456", roles=["agency_admin"], actor="test")
        org.create_user(session, "tpe.user", "TPE", "pw-123456", roles=["user"], actor="test")
    timekeeping.advance_to(db, dt.datetime(2027, 4, 16, 9, 0, tzinfo=TAIPEI))  # 2027-03-31 opens, due 04-14
    with db.sessions() as session:
        [period] = session.scalars(select(ObligationPeriod).where(
            ObligationPeriod.obligation_id == "password_rotation")).all()
        assert period.label == "2027-03-31" and period.escalation_instance_id is None
        rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == period.instance_id)
                               .order_by(HumanTask.id)).all()
        assert [(t.name, t.status.value) for t in rows] == [
            ("acknowledge_password_change", "cancelled"), ("acknowledge_password_change", "cancelled"),
            ("follow_up_overdue_admin", "ready"), ("follow_up_overdue_user", "ready")]
        statuses = {s.obligation.id: s.status for s in obligations.period_statuses(
            session, list(session.scalars(select(Agency).where(Agency.code == "TPE"))))
            if s.period.label == "2027-03-31"}
        assert statuses == {"password_rotation": "late"}


def test_calendar_escalation_flag_must_be_a_boolean():
    text = ('{"obligations": [{"id": "x", "clauses": ["R5.6"], "process_id": "p", "cadence": "every_n_days", '
            '"every_days": 90, "due": {"from": "period_start", "days": 14}, "responsible_role": "agency_admin", '
            '"calendar_escalation": "no"}]}')
    with pytest.raises(DefinitionError, match="calendar_escalation"):
        parse_definitions(text)
    assert parse_definitions(text.replace('"no"', "false")).get("x").calendar_escalation is False


def test_r5_6_acknowledgement_instructions_name_the_account_period_and_due_date(rotation_db, users):
    from engine.inspect import task_details

    iid = _start(rotation_db, users)
    task = _tasks(rotation_db, iid)["acknowledge_password_change:dsw.admin"]
    with rotation_db.sessions() as session:
        details = task_details(session, task)
    for text in ("dsw.admin", "2027-03-31", PERIOD["due_at"], details["data"]["agency_name"], "機關首長"):
        assert text in details["instructions"]
    assert details["form"]["schema"]["additionalProperties"] is False


def _state_bytes(db, iid) -> int:
    with db.sessions() as session:
        return len(session.get(ProcessInstance, iid).state)


def _rotation_state_after_half_acknowledged(db, users, accounts: int) -> int:
    """Bytes of a rotation's stored state once DSW has `accounts` admins and WebIR users and half acknowledged."""
    with db.transaction() as session:
        for n in range(len(DSW_ACCOUNTS), accounts):
            if not session.scalar(select(User.id).where(User.username == f"dsw.rotating{n}")):
                org.create_user(session, f"dsw.rotating{n}", "DSW", "pw-123456", roles=("user",), actor="test")
    iid = _start(db, users)
    tasks = sorted(_tasks(db, iid).items())
    with db.sessions() as session:
        ids = {u.username: u.id for u in session.scalars(select(User))}
    for key, task in tasks[:len(tasks) // 2]:
        runtime.complete_task(db, task.id, ids[key.split(":")[1]], ACK)
    assert len(_tasks(db, iid)) == len(tasks) - len(tasks) // 2
    return _state_bytes(db, iid)


def test_r5_6_rotation_state_grows_linearly_with_the_accounts(rotation_db, users):
    """Issue 10: each account's subprocess carries its own few values, not the period's account list (kept once, in
    a data object), so the stored state grows linearly: about 6.6 KB of JSON per account, stored compressed in about
    0.7 KB (50 accounts half acknowledged: 37 KB stored; it grew quadratically before: 730 KB of JSON), so an agency
    passes 100 KB only past about 140 accounts."""
    small = _rotation_state_after_half_acknowledged(rotation_db, users, 25)
    big = _rotation_state_after_half_acknowledged(rotation_db, users, 50)
    assert big / small < 2.5
    assert big < 50 * 1024
    assert (big - small) / 25 < 8 * 1024
    assert big < 400 * 1024


def test_one_completion_reads_the_simulated_clock_once_per_engine_pass_not_once_per_timer(rotation_db, users,
                                                                                         sim_clock, monkeypatch):
    """Issue 10: each account's acknowledgement has its own due-date timer; one engine pass judges them all at one
    reading of the clock (the simulated clock reads a database row per reading: it was one per timer, 2 x 40
    here, per completion)."""
    with rotation_db.transaction() as session:
        for n in range(40):
            org.create_user(session, f"dsw.timer{n}", "DSW", "pw-123456", roles=("user",), actor="test")
    iid = _start(rotation_db, users)
    tasks = _tasks(rotation_db, iid)
    assert len(tasks) == 43
    reads = []
    real_now = type(sim_clock).now
    monkeypatch.setattr(type(sim_clock), "now", lambda self: reads.append(1) or real_now(self))
    runtime.complete_task(rotation_db, tasks["acknowledge_password_change:dsw.user"].id, users["dsw.user"], ACK)
    assert 1 <= len(reads) <= 6
    assert "acknowledge_password_change:dsw.user" not in _tasks(rotation_db, iid)
