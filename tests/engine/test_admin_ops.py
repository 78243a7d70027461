"""Manager operations: suspend, resume, cancel with a reason, reassign; comments on tasks. Each audited."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import FORM_1_2, GRANT
from process_walk import CONFIRM_NEED, step
from sqlalchemy import select
from timer_models import wait_then_task

from engine import admin_ops, comments, runtime, timekeeping
from engine.assignment import NotAllowed
from engine.bundle import ModelFile
from engine.models import AuditEvent, HumanTask, InstanceStatus, ProcessInstance, TaskComment, TaskStatus
from workflows import bundled

START = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)


def _review_pending(db, users) -> tuple[int, int]:
    """dsw.staff applies, dsw.unit confirms; returns (instance id, the review task id for DSW's agency_admin)."""
    iid = runtime.start_instance(db, "user_account_application", users["dsw.staff"])
    runtime.complete_task(db, _task(db, iid, TaskStatus.READY).id, users["dsw.staff"], FORM_1_2)
    step(db, iid, "confirm_business_need", users["dsw.unit"], CONFIRM_NEED)
    return iid, _task(db, iid, TaskStatus.READY).id


def _task(db, iid, status) -> HumanTask:
    with db.sessions() as session:
        return session.scalar(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == status)
                              .order_by(HumanTask.id.desc()).limit(1))


def _instance(db, iid) -> ProcessInstance:
    with db.sessions() as session:
        return session.get(ProcessInstance, iid)


def _actions(db, iid) -> list[tuple[str, str | None, dict]]:
    with db.sessions() as session:
        return [(e.action, e.actor, e.detail) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == iid).order_by(AuditEvent.id))]


def test_suspended_instance_tasks_cannot_be_completed_until_resumed(org_db, users):
    iid, review = _review_pending(org_db, users)
    admin_ops.suspend_instance(org_db, iid, users["dsw.admin"], "等待補件 waiting for papers")
    assert _instance(org_db, iid).status == InstanceStatus.SUSPENDED
    assert _task(org_db, iid, TaskStatus.SUSPENDED).id == review
    with pytest.raises(runtime.TaskNotReady):
        runtime.complete_task(org_db, review, users["dsw.admin"], GRANT)
    admin_ops.resume_instance(org_db, iid, users["dsw.admin"])
    assert _instance(org_db, iid).status == InstanceStatus.RUNNING
    assert _task(org_db, iid, TaskStatus.READY).id == review
    runtime.complete_task(org_db, review, users["dsw.admin"], GRANT)
    assert _instance(org_db, iid).status == InstanceStatus.COMPLETED
    actions = [a for a, _, _ in _actions(org_db, iid)]
    assert actions.index("instance_suspended") < actions.index("instance_resumed")
    assert "task_completed" in actions[actions.index("instance_resumed"):]
    suspended = next(d for a, _, d in _actions(org_db, iid) if a == "instance_suspended")
    assert suspended["reason"] == "等待補件 waiting for papers"


def test_suspended_instance_timer_waits_and_fires_on_resume(org_db, users, sim_clock):
    sim_clock.set(START)
    with org_db.transaction() as session:
        bundled.deploy_files(session, [ModelFile("wait.bpmn", wait_then_task())], "t", "t")
    iid = runtime.start_instance(org_db, "wait_then_task", users["dsw.staff"])
    admin_ops.suspend_instance(org_db, iid, users["dsw.admin"])
    timekeeping.advance_to(org_db, START + dt.timedelta(hours=3))
    assert _instance(org_db, iid).status == InstanceStatus.SUSPENDED
    assert "timer_fired" not in [a for a, _, _ in _actions(org_db, iid)]
    admin_ops.resume_instance(org_db, iid, users["dsw.admin"])
    assert _task(org_db, iid, TaskStatus.READY).name == "after_wait"


def test_cancel_needs_a_reason_and_ends_the_instance(org_db, users):
    iid, review = _review_pending(org_db, users)
    with pytest.raises(admin_ops.ReasonRequired):
        admin_ops.cancel_instance(org_db, iid, users["dol.admin"], "  ")
    admin_ops.cancel_instance(org_db, iid, users["dol.admin"], "重複申請 duplicate")
    instance = _instance(org_db, iid)
    assert instance.status == InstanceStatus.CANCELLED and instance.ended_at is not None
    assert _task(org_db, iid, TaskStatus.CANCELLED).id == review
    with pytest.raises(runtime.TaskNotReady):
        runtime.complete_task(org_db, review, users["dsw.admin"], GRANT)
    with pytest.raises(admin_ops.InvalidTransition):
        admin_ops.cancel_instance(org_db, iid, users["dol.admin"], "again")
    assert ("instance_cancelled", "dol.admin", {"reason": "重複申請 duplicate"}) in _actions(org_db, iid)


@pytest.mark.parametrize("username", ["dsw.unit", "dsw.head", "daan.admin", "dol.audit"])
def test_only_agency_admin_or_master_admin_may_manage(org_db, users, username):
    iid, review = _review_pending(org_db, users)
    expected = runtime.NotFound if username == "daan.admin" else NotAllowed  # DAAN does not see DSW's instance
    with pytest.raises(expected):
        admin_ops.suspend_instance(org_db, iid, users[username])
    with pytest.raises(expected):
        admin_ops.reassign_task(org_db, review, users[username], "dsw.admin2")
    assert _instance(org_db, iid).status == InstanceStatus.RUNNING


def test_resume_of_a_running_instance_is_refused(org_db, users):
    iid, _ = _review_pending(org_db, users)
    with pytest.raises(admin_ops.InvalidTransition):
        admin_ops.resume_instance(org_db, iid, users["dsw.admin"])


def test_reassign_goes_only_to_another_holder_of_the_role(org_db, users):
    iid, review = _review_pending(org_db, users)
    with org_db.sessions() as session:
        holders = admin_ops.role_holders(session, session.get(HumanTask, review), session.get(ProcessInstance, iid))
    assert [u.username for u in holders] == ["dsw.admin", "dsw.admin2"]
    for not_a_holder in ("dsw.unit", "dsw.staff", "daan.admin", "nobody"):
        with pytest.raises(NotAllowed):
            admin_ops.reassign_task(org_db, review, users["dsw.admin"], not_a_holder)
    admin_ops.reassign_task(org_db, review, users["dsw.admin"], "dsw.admin2")
    assert _task(org_db, iid, TaskStatus.READY).assignee_id == users["dsw.admin2"]
    with pytest.raises(NotAllowed):  # now someone else's
        runtime.complete_task(org_db, review, users["dsw.admin"], GRANT)
    runtime.complete_task(org_db, review, users["dsw.admin2"], GRANT)
    event = next(d for a, _, d in _actions(org_db, iid) if a == "task_reassigned")
    assert event == {"task": "review_application", "from_user": None, "to_user": "dsw.admin2"}


def test_applicant_step_cannot_be_reassigned(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    with pytest.raises(NotAllowed):
        admin_ops.reassign_task(org_db, _task(org_db, iid, TaskStatus.READY).id, users["dsw.admin"], "dsw.admin2")


def test_comment_is_stored_and_audited_for_those_who_see_the_task(org_db, users):
    iid, review = _review_pending(org_db, users)
    comment_id = comments.add_comment(org_db, review, users["dsw.admin"], "  請補上法令依據 \r\n謝謝 ")
    with org_db.sessions() as session:
        [(comment, author)] = comments.comments_of(session, review)
    assert (comment.id, comment.body, author) == (comment_id, "請補上法令依據 \n謝謝", "dsw.admin")
    assert ("task_commented", "dsw.admin", {"task": "review_application", "comment_id": comment_id,
                                           "text": "請補上法令依據 \n謝謝"}) in _actions(org_db, iid)
    with pytest.raises(runtime.NotFound):
        comments.add_comment(org_db, review, users["daan.admin"], "hello")
    for bad in ("", "   ", "x" * (comments.MAX_COMMENT_CHARS + 1)):
        with pytest.raises(comments.CommentInvalid):
            comments.add_comment(org_db, review, users["dsw.admin"], bad)
    with org_db.sessions() as session:
        assert session.scalar(select(TaskComment.id).where(TaskComment.author_id == users["daan.admin"])) is None
