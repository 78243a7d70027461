"""improper_query_investigation (R6.3, R6.4): the querier explains, the agency audit team decides; an improper
query revokes the account at once, starts account_revocation and records the accountability decision."""

from __future__ import annotations

import datetime as dt

import pytest
from process_walk import QUERY_WORK, granted_webir_access, new_user, ready_names, roles, status, step, task
from sqlalchemy import select, update

from engine import runtime
from engine.assignment import NotAllowed, my_task_filter
from engine.bundle import ModelFile
from engine.models import (
    AuditEvent,
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    ProcessVersion,
    RoleAssignment,
    TaskStatus,
    User,
)
from engine.scripts import script_engine
from engine.state import load_workflow
from workflows import bundled
from workflows.models import AccountApplication
from workflows.models_accounts import AccountRevocation
from workflows.models_audits import ImproperQueryCase
from workflows.models_records import ReconciliationFinding
from workflows.query_explanation import open_explanations
from workflows.query_log import import_query_log
from workflows.reconcile import reconcile

PROCESS = "improper_query_investigation"
# 2024-06-04 is a Tuesday: 23:10 Taipei time is outside office hours; the query is not registered either.
PLANTED_LOG = ("查詢時間,查詢者帳號,被查詢人身分證號,查詢項目,案件編號\n"
               "2024-06-04 23:10:00,tsai.egov,A123456789,投保,C-77\n")
STATEMENT = {"statement": "下班後替朋友查詢 Queried for a friend after hours"}
IMPROPER = {"decision": "improper", "decision_reason": "無公務需要之夜間查詢 A night query without official need",
            "accountability": "disciplinary", "accountability_text": "記申誡一次 A written reprimand"}
PROPER = {"decision": "proper", "decision_reason": "緊急個案，已補登記 An urgent case, registered afterwards",
          "accountability": "none"}
REVOKE = {"revocation_date": "2026-12-31", "form_annotated": True, "webir_access_removed": True}
def _granted_querier(db, users) -> None:
    """dsw.staff holds WebIR access through a granted Form 1-2 (我的E政府 account tsai.egov) since 2024."""
    granted_webir_access(db, users, "dsw.staff")
    with db.transaction() as session:
        session.execute(update(RoleAssignment).where(RoleAssignment.user_id == users["dsw.staff"])
                        .values(granted_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)))


def _explanation_for_planted_query(db, users, tmp_path) -> tuple[int, int]:
    """Import the planted log, reconcile June 2024, open the explanations; (run id, explanation instance)."""
    (tmp_path / "planted.csv").write_text(PLANTED_LOG, encoding="utf-8")
    import_query_log(db, tmp_path / "planted.csv", "DSW", tmp_path / "evidence")
    with db.transaction() as session:
        from engine.models import Agency

        dsw = session.scalar(select(Agency).where(Agency.code == "DSW"))
        run_id = reconcile(session, dsw, "2024-06").run_id
        [explanation] = open_explanations(session, run_id)
    return run_id, explanation


def _investigation_of(db, explanation_id: int) -> ImproperQueryCase:
    with db.sessions() as session:
        return session.scalar(select(ImproperQueryCase).where(
            ImproperQueryCase.explanation_instance_id == explanation_id))


def _case(db, instance_id: int) -> ImproperQueryCase:
    with db.sessions() as session:
        return session.scalar(select(ImproperQueryCase).where(ImproperQueryCase.instance_id == instance_id))


def _user_work_task(db, users) -> int:
    """A ready `user`-lane task any WebIR user of DSW may take (the querier's daily work)."""
    with db.transaction() as session:
        bundled.deploy_files(session, [ModelFile("webir_query_work.bpmn", QUERY_WORK)], "test", "test")
    iid = runtime.start_instance(db, "webir_query_work", users["dsw.unit"])
    return task(db, iid, "query").id


def _mine(db, user_id: int) -> list[int]:
    with db.sessions() as session:
        user = session.get(User, user_id)
        return list(session.scalars(select(HumanTask.id)
                                    .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                                    .where(HumanTask.status == TaskStatus.READY, my_task_filter(session, user))))


def test_r6_4_planted_improper_query_leads_to_a_revoked_account_and_a_recorded_decision(org_db, users, tmp_path,
                                                                                          token_for, client):
    _granted_querier(org_db, users)
    work = _user_work_task(org_db, users)
    assert work in _mine(org_db, users["dsw.staff"])
    run_id, explanation = _explanation_for_planted_query(org_db, users, tmp_path)
    with org_db.sessions() as session:
        found = session.scalars(select(ReconciliationFinding.finding_type)
                                .where(ReconciliationFinding.run_id == run_id)).all()
    assert {"logged_not_registered", "off_hours"} <= set(found)
    step(org_db, explanation, "explain_findings", users["dsw.staff"], {"explanation": "幫朋友查的 for a friend"})
    step(org_db, explanation, "review_explanation", users["dsw.unit"],
         {"decision": "suspected_improper", "review_comment": "夜間查詢且未登記 A night query, not registered"})
    assert status(org_db, explanation) == InstanceStatus.COMPLETED
    case = _investigation_of(org_db, explanation)
    assert (case.source, case.opened_by, len(case.finding_ids)) == ("explanation_review", "dsw.unit", len(found))
    investigation = case.instance_id
    explain = task(org_db, investigation, "explain_query")
    assert (explain.role, explain.assignee_id) == ("applicant", users["dsw.staff"])
    step(org_db, investigation, "explain_query", users["dsw.staff"], STATEMENT)
    with pytest.raises(NotAllowed):  # the querier never decides their own case
        step(org_db, investigation, "decide", users["dsw.staff"], PROPER)
    step(org_db, investigation, "decide", users["dsw.audit"], IMPROPER)
    assert status(org_db, investigation) == InstanceStatus.COMPLETED
    # Revoked at once: the WebIR user role is gone, the user-lane work is no longer theirs, the API says 403.
    assert ("DSW", "user") not in roles(org_db, users["dsw.staff"])
    assert work not in _mine(org_db, users["dsw.staff"])
    answer = client.post(f"/api/v1/tasks/{work}/complete", json={"data": {}}, headers=token_for("dsw.staff"))
    assert answer.status_code == 403
    case = _case(org_db, investigation)
    assert (case.decision, case.accountability, case.decided_by) == ("improper", "disciplinary", "dsw.audit")
    assert case.accountability_text == "記申誡一次 A written reprimand" and case.access_revoked_at is not None
    assert case.statement == STATEMENT["statement"]
    with org_db.sessions() as session:
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == investigation)).all()
    assert "improper_query_decided" in events and "role_revoked" in events
    # account_revocation started at once: the agency admin annotates Form 1-2 (R5.4, R7.2).
    revocation = case.revocation_instance_id
    assert ready_names(org_db, revocation) == ["revoke_account"]
    step(org_db, revocation, "revoke_account", users["dsw.admin"], REVOKE)
    with org_db.sessions() as session:
        record = session.scalar(select(AccountRevocation).where(AccountRevocation.instance_id == revocation))
        form = session.get(AccountApplication, record.application_id)
    assert (record.reason_kind, record.requested_by, form.revoked_on) == ("improper_query", "dsw.audit",
                                                                           dt.date(2026, 12, 31))


def test_r6_3_investigation_found_proper_keeps_the_account(org_db, users, tmp_path):
    _granted_querier(org_db, users)
    _, explanation = _explanation_for_planted_query(org_db, users, tmp_path)
    step(org_db, explanation, "explain_findings", users["dsw.staff"], {"explanation": "緊急個案 urgent case"})
    step(org_db, explanation, "review_explanation", users["dsw.unit"],
         {"decision": "suspected_improper", "review_comment": "夜間查詢 night query"})
    investigation = _investigation_of(org_db, explanation).instance_id
    step(org_db, investigation, "explain_query", users["dsw.staff"], STATEMENT)
    with pytest.raises(runtime.FormInvalid):  # a proper query pursues no responsibility
        step(org_db, investigation, "decide", users["dsw.audit"], {**PROPER, "accountability": "warning"})
    step(org_db, investigation, "decide", users["dsw.audit"], PROPER)
    assert status(org_db, investigation) == InstanceStatus.COMPLETED
    case = _case(org_db, investigation)
    assert (case.decision, case.accountability, case.revocation_instance_id) == ("proper", "none", None)
    assert ("DSW", "user") in roles(org_db, users["dsw.staff"])


def test_r6_4_accepted_explanation_opens_no_investigation(org_db, users, tmp_path):
    _granted_querier(org_db, users)
    _, explanation = _explanation_for_planted_query(org_db, users, tmp_path)
    step(org_db, explanation, "explain_findings", users["dsw.staff"], {"explanation": "已補登記 registered now"})
    step(org_db, explanation, "review_explanation", users["dsw.unit"], {"decision": "accepted"})
    assert _investigation_of(org_db, explanation) is None


def test_r6_4_improper_decision_needs_the_accountability_details(org_db, users, tmp_path):
    _granted_querier(org_db, users)
    _, explanation = _explanation_for_planted_query(org_db, users, tmp_path)
    step(org_db, explanation, "explain_findings", users["dsw.staff"], {"explanation": "幫朋友查的 for a friend"})
    step(org_db, explanation, "review_explanation", users["dsw.unit"],
         {"decision": "suspected_improper", "review_comment": "夜間查詢 night query"})
    investigation = _investigation_of(org_db, explanation).instance_id
    step(org_db, investigation, "explain_query", users["dsw.staff"], STATEMENT)
    with pytest.raises(runtime.FormInvalid) as raised:
        step(org_db, investigation, "decide", users["dsw.audit"], {**IMPROPER, "accountability_text": ""})
    assert "accountability_text" in raised.value.fields
    assert ("DSW", "user") in roles(org_db, users["dsw.staff"])


def test_r6_4_audit_team_opens_a_case_naming_the_querier_and_may_decide_it(org_db, users, tmp_path):
    _granted_querier(org_db, users)
    run_id, _ = _explanation_for_planted_query(org_db, users, tmp_path)
    with org_db.sessions() as session:
        finding = session.scalar(select(ReconciliationFinding.id).where(ReconciliationFinding.run_id == run_id))
    iid = runtime.start_instance(org_db, PROCESS, users["dsw.audit"])
    assert ready_names(org_db, iid) == ["open_case"]
    step(org_db, iid, "open_case", users["dsw.audit"],
         {"querier_username": "dsw.staff", "finding_ids": [finding], "reason": "稽核抽查發現夜間查詢 spot check"})
    explain = task(org_db, iid, "explain_query")
    assert explain.assignee_id == users["dsw.staff"]
    step(org_db, iid, "explain_query", users["dsw.staff"], STATEMENT)
    step(org_db, iid, "decide", users["dsw.audit"], IMPROPER)  # the opener decides: the querier is the applicant
    case = _case(org_db, iid)
    assert (case.source, case.opened_by, case.finding_ids, case.decision) == ("audit_team", "dsw.audit", [finding],
                                                                              "improper")
    assert ("DSW", "user") not in roles(org_db, users["dsw.staff"])
    assert ready_names(org_db, case.revocation_instance_id) == ["revoke_account"]


@pytest.mark.parametrize(("starter", "form", "problem"), [
    ("dsw.unit", {"querier_username": "dsw.user"}, "Only the agency audit team"),
    ("dsw.audit", {"querier_username": "daan.admin"}, "No such querier"),
    ("dsw.audit", {"querier_username": "dsw.audit"}, "may not investigate yourself"),
    ("dsw.audit", {"querier_username": "dsw.user", "finding_ids": [999999]}, "not this querier's"),
])
def test_r6_4_case_that_does_not_qualify_is_not_accepted(org_db, users, starter, form, problem):
    iid = runtime.start_instance(org_db, PROCESS, users[starter])
    step(org_db, iid, "open_case", users[starter], {"reason": "稽核發現 found by audit", **form})
    assert status(org_db, iid) == InstanceStatus.COMPLETED
    with org_db.sessions() as session:
        instance = session.get(ProcessInstance, iid)
        assert instance.started_by_id == users[starter]
        assert session.scalar(select(ImproperQueryCase.id)) is None
        version = session.get(ProcessVersion, instance.process_version_id)
        workflow = load_workflow(version, instance.state, script_engine())
    assert workflow.data["outcome"] == "not_accepted" and problem in workflow.data["refusal_reason"]


def test_r6_4_task_data_cannot_open_a_case_or_skip_the_revocation_notice(org_db, users):
    # A case id in the start data of someone who is not the case's querier is ignored: the opening form follows.
    other = new_user(org_db, "dsw.other", "DSW", roles=["user"])
    iid = runtime.start_instance(org_db, PROCESS, other, data={"improper_query_case_id": 1})
    assert ready_names(org_db, iid) == ["open_case"]
    # A revocation naming a case that was never decided improper is not accepted.
    rid = runtime.start_instance(org_db, "account_revocation", users["dsw.admin"],
                                 data={"improper_query_case_id": 1, "subject_username": "dsw.user"})
    assert status(org_db, rid) == InstanceStatus.COMPLETED
    assert ("DSW", "user") in roles(org_db, users["dsw.user"])
