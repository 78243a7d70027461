"""Runtime: start, complete with server-side validation, task mirroring, audit, pinning to a version."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import CONFIRM, FORM_1_2, GRANT
from sqlalchemy import select

from engine import runtime
from engine.assignment import NotAllowed
from engine.bundle import ModelFile
from engine.models import AuditEvent, HumanTask, InstanceStatus, ProcessInstance, ProcessVersion, TaskStatus
from engine.state import load_workflow, state_text
from workflows import bundled

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "user_account_application.bpmn"


def _ready(db, instance_id):
    with db.sessions() as session:
        return list(session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.READY)))


def _instance(db, instance_id) -> ProcessInstance:
    with db.sessions() as session:
        return session.get(ProcessInstance, instance_id)


def test_start_mirrors_the_first_human_task_to_the_applicant(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    [task] = _ready(org_db, iid)
    assert (task.name, task.role, task.assignee_id) == ("fill_form_1_2", "applicant", users["dsw.staff"])
    assert _instance(org_db, iid).status == InstanceStatus.RUNNING


def test_state_is_stored_without_the_spec(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    state = state_text(_instance(org_db, iid).state)
    assert '"spec"' not in state and '"subprocess_specs"' not in state and '"tasks"' in state


def test_invalid_form_data_is_refused_naming_fields_and_nothing_changes(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    [task] = _ready(org_db, iid)
    bad = {**FORM_1_2, "application_date": "2026-02-30"}
    del bad["purpose"]
    with pytest.raises(runtime.FormInvalid) as invalid:
        runtime.complete_task(org_db, task.id, users["dsw.staff"], bad)
    assert set(invalid.value.fields) == {"purpose", "application_date"}
    assert [t.id for t in _ready(org_db, iid)] == [task.id]


def test_typename_key_is_refused_before_it_reaches_the_workflow(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    [task] = _ready(org_db, iid)
    with pytest.raises(runtime.FormInvalid) as invalid:
        runtime.complete_task(org_db, task.id, users["dsw.staff"], {**FORM_1_2, "typename": "x"})
    assert "typename" in invalid.value.fields


def test_full_application_grants_user_role_and_audits_each_step(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.staff"], FORM_1_2)
    runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.unit"], CONFIRM)
    [review] = _ready(org_db, iid)
    assert (review.role, review.assignee_id, review.due_at is not None) == ("agency_admin", None, True)
    runtime.complete_task(org_db, review.id, users["dsw.admin"], GRANT)
    assert _instance(org_db, iid).status == InstanceStatus.COMPLETED
    with org_db.sessions() as session:
        actions = [e.action for e in session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == iid).order_by(AuditEvent.id))]
    assert actions[0] == "instance_started" and actions[-1] == "instance_completed"
    assert actions.count("task_completed") == 3 and "role_granted" in actions


def test_second_completion_of_same_task_is_rejected(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    task = _ready(org_db, iid)[0]
    runtime.complete_task(org_db, task.id, users["dsw.staff"], FORM_1_2)
    with pytest.raises(runtime.TaskNotReady):
        runtime.complete_task(org_db, task.id, users["dsw.staff"], {"anything": 1})


def test_applicant_may_not_review_own_application(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.admin2"])
    runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.admin2"], FORM_1_2)
    runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.unit"], CONFIRM)
    with pytest.raises(NotAllowed):
        runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.admin2"], GRANT)
    runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.admin"], GRANT)
    assert _instance(org_db, iid).status == InstanceStatus.COMPLETED


def test_other_agency_admin_gets_not_found(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.staff"], FORM_1_2)
    with pytest.raises(runtime.NotFound):
        runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["daan.admin"], GRANT)


def test_running_instance_stays_on_its_version_after_a_new_deploy(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    changed = BPMN.read_text(encoding="utf-8").replace("P5D", "P7D")
    with org_db.transaction() as session:
        result = bundled.deploy_files(session, [ModelFile("user_account_application.bpmn", changed.encode())],
                                      "t", "t")
    runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.staff"], FORM_1_2)
    runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.unit"], CONFIRM)
    review = _ready(org_db, iid)[0]
    assert _instance(org_db, iid).version == 1 and result.version == 2
    assert (review.due_at - review.created_at).days == 5
    new = runtime.start_instance(org_db, "user_account_application", users["dsw.user"])
    assert _instance(org_db, new).version == 2


def test_concurrent_completions_of_one_task_complete_it_once(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.staff"], FORM_1_2)
    runtime.complete_task(org_db, _ready(org_db, iid)[0].id, users["dsw.unit"], CONFIRM)
    review = _ready(org_db, iid)[0]
    outcomes = []

    def attempt(username):
        try:
            runtime.complete_task(org_db, review.id, users[username], GRANT)
            outcomes.append("ok")
        except runtime.TaskNotReady:
            outcomes.append("409")

    threads = [threading.Thread(target=attempt, args=(u,)) for u in ("dsw.admin", "dsw.admin2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["409", "ok"]
    with org_db.sessions() as session:
        instance = session.get(ProcessInstance, iid)
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == iid)).all()
        workflow = load_workflow(session.get(ProcessVersion, instance.process_version_id), instance.state,
                                 None)
    assert instance.status == InstanceStatus.COMPLETED and workflow.is_completed()
    assert events.count("role_granted") == 1
