"""Findings become work (R6.1, R6.5): the querier explains, the unit admin reviews, the findings keep both."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from engine import runtime
from engine.models import Agency, HumanTask, ProcessInstance, RoleAssignment, TaskStatus, User
from workflows import bundled, demo, org
from workflows.models_records import ReconciliationFinding
from workflows.query_explanation import open_explanations
from workflows.reconcile import reconcile
from workflows.register import record_entry

MODEL_FILES = ("query_explanation.bpmn", "forms/query_explanation.schema.json",
               "forms/query_explanation.uischema.json", "forms/explanation_review.schema.json",
               "forms/explanation_review.uischema.json", "improper_query_investigation.bpmn",
               "forms/improper_query_open.schema.json", "forms/improper_query_open.uischema.json",
               "forms/improper_query_statement.schema.json", "forms/improper_query_statement.uischema.json",
               "forms/improper_query_decision.schema.json", "forms/improper_query_decision.uischema.json")
LOG = "查詢時間,查詢者帳號,被查詢人身分證號,查詢項目,案件編號\n"


@pytest.fixture
def org_db(db):
    """The demo organisation with only the query_explanation model deployed."""
    with db.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
        files = [f for f in bundled.files_under(bundled.BUNDLED_DIR) if f.filename in MODEL_FILES]
        bundled.deploy_files(session, files, "test", "records tests")
        amy = org.create_user(session, "amy", "DSW", "long-password", roles=["user"])
        session.execute(update(RoleAssignment).where(RoleAssignment.user_id == amy.id)
                        .values(granted_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)))
    return db


def _month_with_findings(db, tmp_path) -> int:
    """amy: one unregistered query and one registered; ghost: one query; returns the reconciliation run."""
    from workflows.query_log import import_query_log

    (tmp_path / "log.csv").write_text(LOG + "2024-06-05 10:00:00,amy,A1,投保,C1\n2024-06-05 11:00:00,amy,A2,投保,C2\n"
                                      "2024-06-06 10:00:00,ghost,A3,投保,C3\n", encoding="utf-8")
    import_query_log(db, tmp_path / "log.csv", "DSW", tmp_path / "evidence")
    with db.transaction() as session:
        dsw = session.scalar(select(Agency).where(Agency.code == "DSW"))
        amy = session.scalar(select(User).where(User.username == "amy"))
        record_entry(session, dsw, amy, {"case_number": "C2", "query_time": "2024-06-05T11:00:00", "purpose": "x",
                                         "subject_id": "A2"})
        return reconcile(session, dsw, "2024-06").run_id


def _ready(db, instance_id) -> HumanTask:
    with db.sessions() as session:
        return session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.status == TaskStatus.READY))


def _findings(db, run_id) -> list[ReconciliationFinding]:
    with db.sessions() as session:
        return list(session.scalars(select(ReconciliationFinding).where(ReconciliationFinding.run_id == run_id)
                                    .order_by(ReconciliationFinding.id)))


@pytest.mark.clause("R6.1", "R6.5")
def test_r6_1_querier_explains_and_unit_admin_review_is_kept_on_the_findings(org_db, users, tmp_path):
    run_id = _month_with_findings(org_db, tmp_path)
    with org_db.transaction() as session:
        opened = open_explanations(session, run_id)
    assert len(opened) == 1  # amy's; ghost belongs to nobody: the agency admin's, in the report
    task = _ready(org_db, opened[0])
    assert task.name == "explain_findings" and task.lane == "applicant"
    runtime.complete_task(org_db, task.id, users["amy"], {"explanation": "忘了登記 forgot to register the query"})
    review = _ready(org_db, opened[0])
    assert review.name == "review_explanation"
    runtime.complete_task(org_db, review.id, users["dsw.unit"], {"decision": "accepted"})
    amy = [f for f in _findings(org_db, run_id) if f.account == "amy"]
    assert [f.finding_type for f in amy] == ["logged_not_registered"]
    assert (amy[0].explained_by, amy[0].review_decision, amy[0].reviewed_by) == ("amy", "accepted", "dsw.unit")
    assert "forgot" in amy[0].explanation
    with org_db.sessions() as session:
        assert session.get(ProcessInstance, opened[0]).status == "completed"
    with org_db.transaction() as session:
        assert open_explanations(session, run_id) == []  # each finding gets one task


@pytest.mark.clause("R6.3")
def test_r6_3_suspected_improper_query_needs_a_comment(org_db, users, tmp_path):
    run_id = _month_with_findings(org_db, tmp_path)
    with org_db.transaction() as session:
        instance_id = open_explanations(session, run_id)[0]
    runtime.complete_task(org_db, _ready(org_db, instance_id).id, users["amy"], {"explanation": "查詢個案 a case"})
    review = _ready(org_db, instance_id)
    with pytest.raises(runtime.FormInvalid):
        runtime.complete_task(org_db, review.id, users["dsw.unit"], {"decision": "suspected_improper"})
    runtime.complete_task(org_db, review.id, users["dsw.unit"],
                          {"decision": "suspected_improper", "review_comment": "無案件 no such case"})
    assert [f.review_decision for f in _findings(org_db, run_id) if f.account == "amy"] == ["suspected_improper"]
