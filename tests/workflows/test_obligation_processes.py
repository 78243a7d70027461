"""The processes the compliance calendar starts, one per period of an obligation.

monthly_register_check (R3.3, R8.1.2, R6.1, R6.5), quarterly_log_review (R8.1.1), semiannual_internal_audit
(R8.1.3, R8.1.4, R8.1.5, R3.5), annual_audit_submission (R8.1.6) and records_disposition (R7.4, R7.1-R7.3);
password_rotation (R5.6) has its own file. There is no human starter: they start here for DSW as the scheduler
starts them, with the period data the engine injects.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import runtime
from engine.assignment import NotAllowed
from engine.inspect import task_details
from engine.models import Agency, HumanTask, InstanceStatus, ProcessInstance, ProcessVersion, TaskStatus
from engine.scripts import script_engine
from engine.specs import latest_version
from engine.state import load_workflow

FORMS = Path(__file__).resolve().parents[2] / "bpmn" / "forms"
HOLDER = {"unit_admin": "dsw.unit", "agency_admin": "dsw.admin", "agency_audit": "dsw.audit",
          "agency_head": "dsw.head", "master_admin": "dol.admin"}
PERIODS = {  # process id -> (obligation id, period label, opens_at, due_at, clauses)
    "monthly_register_check": ("monthly_register_check", "2027-03", "2027-04-01T00:00:00+08:00",
                               "2027-04-30T23:59:59+08:00", ["R3.3", "R8.1.2"]),
    "quarterly_log_review": ("quarterly_log_download", "2027-Q1", "2027-04-01T00:00:00+08:00",
                             "2027-04-30T23:59:59+08:00", ["R8.1.1"]),
    "semiannual_internal_audit": ("semiannual_internal_audit", "2027-H1", "2027-07-01T00:00:00+08:00",
                                  "2027-08-31T23:59:59+08:00", ["R8.1.3"]),
    "annual_audit_submission": ("annual_audit_submission", "2026", "2027-01-01T00:00:00+08:00",
                                "2027-03-31T23:59:59+08:00", ["R8.1.6"]),
    "records_disposition": ("annual_records_disposition", "2026", "2026-12-01T00:00:00+08:00",
                            "2026-12-31T23:59:59+08:00", ["R7.4"]),
}
MAIN_CLAUSE = {"monthly_register_check": "R8.1.2", "quarterly_log_review": "R8.1.1",
               "semiannual_internal_audit": "R8.1.3", "annual_audit_submission": "R8.1.6",
               "records_disposition": "R7.4"}

FORM_4_CLAUSES = ["R3.3", "R5.3", "R5.4", "R5.5", "R5.6", "R6.1", "R6.2", "R6.3", "R6.4", "R6.5", "R7.1", "R7.2",
                  "R7.3", "R8.1.1", "R8.1.2", "R8.1.3", "R8.1.4", "R8.1.5"]
FORM_4 = {"audited_on": "2027-07-20",
          **{"item_" + c.replace(".", "_"): "compliant" for c in FORM_4_CLAUSES},
          **{"evidence_" + c.replace(".", "_"): "抽查紀錄 Sampled records" for c in FORM_4_CLAUSES}}
REGISTER_COLLECTED = {"registers_collected": True}
SUBMITTED = {"documents_compiled": True, "audit_count": 2, "document_reference": "稽核-2026",
             "sent_on": "2027-03-20", "official_letter_number": "北市社資字第1160000001號"}
DESTRUCTION = {"forms_reviewed": 12, "forms_destroyed": 3, "destroyed_only_after_3_years": True,
               "audit_records_retained_3_years": True, "personal_data_filed_or_destroyed": True,
               "destruction_list_reference": "銷毀清冊-2026"}
RETURN = {"decision": "return", "comment": "請補正佐證 Please add the evidence"}


def _start(db, users, process_id: str) -> int:
    """Started as the scheduler starts an obligation's period: no human starter."""
    obligation, period, opens_at, due_at, clauses = PERIODS[process_id]
    with db.transaction() as session:
        agency = session.scalar(select(Agency).where(Agency.code == "DSW"))
        return runtime.start_in_session(session, latest_version(session, process_id), agency, None, {
            "obligation": obligation, "period": period, "opens_at": opens_at, "due_at": due_at,
            "clauses": clauses}).id


def _ready(db, iid) -> list[HumanTask]:
    with db.sessions() as session:
        return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == iid,
                                                             HumanTask.status == TaskStatus.READY)))


def _step(db, users, iid, name: str, role: str, data: dict) -> None:
    """Complete the one ready task, which must be `name` in the lane of `role`, as a holder of that role."""
    [task] = _ready(db, iid)
    assert (task.name, task.lane, task.role) == (name, role, role)
    assert task.due_at is not None and task.form_schema
    runtime.complete_task(db, task.id, users[HOLDER[task.role]], data)


def _run(db, users, process_id: str, steps) -> int:
    iid = _start(db, users, process_id)
    for name, role, data in steps:
        _step(db, users, iid, name, role, data)
    return iid


def _status(db, iid) -> InstanceStatus:
    with db.sessions() as session:
        return session.get(ProcessInstance, iid).status


def _history(db, iid) -> list[tuple[str, str]]:
    with db.sessions() as session:
        rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == iid).order_by(HumanTask.id))
        return [(t.name, t.role) for t in rows]


def _final_data(db, iid) -> dict:
    with db.sessions() as session:
        instance = session.get(ProcessInstance, iid)
        version = session.get(ProcessVersion, instance.process_version_id)
        return load_workflow(version, instance.state, script_engine()).data


def _invalid(db, users, iid, data) -> dict[str, str]:
    [task] = _ready(db, iid)
    with pytest.raises(runtime.FormInvalid) as invalid:
        runtime.complete_task(db, task.id, users[HOLDER[task.role]], data)
    return invalid.value.fields


# ------------------------------------------------------------------ all obligation processes

@pytest.mark.parametrize("process_id", sorted(PERIODS))
def test_obligation_process_versions_list_their_clauses(org_db, process_id):
    with org_db.sessions() as session:
        version = latest_version(session, process_id)
        assert version is not None and version.is_executable
        assert version.clauses and MAIN_CLAUSE[process_id] in version.clauses
        assert set(version.lane_roles.values()) <= set(HOLDER)  # no applicant lane: nobody starts these


@pytest.mark.parametrize("process_id", sorted(PERIODS))
def test_obligation_first_task_instructions_show_period_agency_and_due_date(org_db, users, process_id):
    iid = _start(org_db, users, process_id)
    [task] = _ready(org_db, iid)
    with org_db.sessions() as session:
        details = task_details(session, task)
    _, period, _, due_at, _ = PERIODS[process_id]
    assert period in details["instructions"] and due_at in details["instructions"]
    assert details["data"]["agency_name"] and details["data"]["agency_name"] in details["instructions"]
    assert details["form"]["schema"]["additionalProperties"] is False


@pytest.mark.clause("R3.3")
def test_r3_3_obligation_task_goes_to_its_lane_role_not_to_other_agency_roles(org_db, users):
    iid = _start(org_db, users, "monthly_register_check")
    [task] = _ready(org_db, iid)
    for other in ("dsw.admin", "dol.admin"):
        with pytest.raises((NotAllowed, runtime.NotFound)):
            runtime.complete_task(org_db, task.id, users[other], REGISTER_COLLECTED)


# monthly_register_check and quarterly_log_review are walked path by path in test_register_check_processes.py

# ------------------------------------------------------------------ semiannual_internal_audit

def test_r8_1_4_form_4_checklist_has_one_item_per_form_4_clause_each_with_result_and_evidence():
    schema = json.loads((FORMS / "internal_audit_form_4.schema.json").read_text(encoding="utf-8"))
    items = {k for k in schema["properties"] if k.startswith("item_")}
    assert items == {"item_" + c.replace(".", "_") for c in FORM_4_CLAUSES}
    for key in items:
        assert schema["properties"][key]["enum"] == ["compliant", "non_compliant", "not_applicable"]
        assert len(schema["properties"][key]["x-enumTitles"]) == 3
        suffix = key.removeprefix("item_")
        assert {"evidence_" + suffix, "remark_" + suffix} <= set(schema["properties"])
        assert {key, "evidence_" + suffix} <= set(schema["required"])
    assert "evidence_cd_reference" not in schema["properties"]  # R8.1.5: the sealed package replaces the CD


def test_r8_1_4_internal_audit_is_signed_off_by_the_agency_head(org_db, users, tmp_path, monkeypatch):
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path))
    iid = _run(org_db, users, "semiannual_internal_audit", [
        ("internal_audit_form_4", "agency_audit", FORM_4),
        ("head_sign_off", "agency_head", {"decision": "approve", "approved": True}),
    ])
    assert _status(org_db, iid) == InstanceStatus.COMPLETED
    assert _history(org_db, iid) == [("internal_audit_form_4", "agency_audit"), ("head_sign_off", "agency_head")]
    assert _final_data(org_db, iid)["evidence_package"]["evidence_id"]  # R8.1.5: sealed on approval


def test_r8_1_4_head_returns_the_audit_to_the_audit_team_for_correction(org_db, users, tmp_path, monkeypatch):
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path))
    iid = _run(org_db, users, "semiannual_internal_audit", [
        ("internal_audit_form_4", "agency_audit", FORM_4),
        ("head_sign_off", "agency_head", RETURN),
        ("internal_audit_form_4", "agency_audit", {**FORM_4, "item_R5_6": "non_compliant",
                                                   "findings": "2 帳號逾期未變更密碼 2 accounts overdue"}),
        ("head_sign_off", "agency_head", {"decision": "approve", "approved": True, "comment": "限期改善"}),
    ])
    assert _status(org_db, iid) == InstanceStatus.COMPLETED
    assert [r for _, r in _history(org_db, iid)] == ["agency_audit", "agency_head", "agency_audit", "agency_head"]


def test_r8_1_4_every_item_needs_its_evidence_and_findings_for_non_compliance(org_db, users):
    iid = _start(org_db, users, "semiannual_internal_audit")
    without_evidence = {k: v for k, v in FORM_4.items() if k != "evidence_R6_2"}
    assert "evidence_R6_2" in _invalid(org_db, users, iid, without_evidence)
    assert "findings" in _invalid(org_db, users, iid, {**FORM_4, "item_R6_3": "non_compliant"})
    assert "item_R8_1_2" in _invalid(org_db, users, iid, {**FORM_4, "item_R8_1_2": "maybe"})


@pytest.mark.clause("R8.1.4")
def test_r8_1_4_head_approval_must_be_confirmed_and_a_return_needs_a_comment(org_db, users):
    iid = _run(org_db, users, "semiannual_internal_audit", [("internal_audit_form_4", "agency_audit", FORM_4)])
    assert "approved" in _invalid(org_db, users, iid, {"decision": "approve", "approved": False})
    assert "comment" in _invalid(org_db, users, iid, {"decision": "return"})


# ------------------------------------------------------------------ annual_audit_submission

def test_r8_1_6_annual_submission_goes_to_the_master_admin_who_acknowledges_it(org_db, users):
    iid = _run(org_db, users, "annual_audit_submission", [
        ("submit_audit_documents", "agency_audit", SUBMITTED),
        ("acknowledge_submission", "master_admin", {"master_decision": "acknowledge"}),
    ])
    assert _status(org_db, iid) == InstanceStatus.COMPLETED
    assert _history(org_db, iid) == [("submit_audit_documents", "agency_audit"),
                                     ("acknowledge_submission", "master_admin")]


def test_r8_1_6_master_admin_returns_the_submission_with_remarks(org_db, users):
    iid = _run(org_db, users, "annual_audit_submission", [
        ("submit_audit_documents", "agency_audit", SUBMITTED),
        ("acknowledge_submission", "master_admin", {"master_decision": "return", "remarks": "缺下半年查核表"}),
        ("submit_audit_documents", "agency_audit", {**SUBMITTED, "note": "已補下半年查核表 H2 checklist added"}),
        ("acknowledge_submission", "master_admin", {"master_decision": "acknowledge"}),
    ])
    assert _status(org_db, iid) == InstanceStatus.COMPLETED
    assert [n for n, _ in _history(org_db, iid)].count("submit_audit_documents") == 2


def test_r8_1_6_submission_needs_compiled_documents_the_letter_number_and_return_remarks(org_db, users):
    iid = _start(org_db, users, "annual_audit_submission")
    assert "documents_compiled" in _invalid(org_db, users, iid, {**SUBMITTED, "documents_compiled": False})
    assert "official_letter_number" in _invalid(org_db, users, iid, {k: v for k, v in SUBMITTED.items()
                                                                     if k != "official_letter_number"})
    _step(org_db, users, iid, "submit_audit_documents", "agency_audit", SUBMITTED)
    assert "remarks" in _invalid(org_db, users, iid, {"master_decision": "return"})


# ------------------------------------------------------------------ records_disposition

@pytest.mark.clause("R7.4")
def test_r7_4_yearly_destruction_list_is_approved_by_the_head(org_db, users):
    iid = _run(org_db, users, "records_disposition", [
        ("run_records_destruction", "agency_admin", DESTRUCTION),
        ("approve_destruction_list", "agency_head", {"decision": "approve"}),
    ])
    assert _status(org_db, iid) == InstanceStatus.COMPLETED
    assert _history(org_db, iid) == [("run_records_destruction", "agency_admin"),
                                     ("approve_destruction_list", "agency_head")]


@pytest.mark.clause("R7.4")
def test_r7_4_head_returns_the_destruction_list_to_the_agency_admin(org_db, users):
    iid = _run(org_db, users, "records_disposition", [
        ("run_records_destruction", "agency_admin", DESTRUCTION),
        ("approve_destruction_list", "agency_head", RETURN),
        ("run_records_destruction", "agency_admin", {**DESTRUCTION, "destruction_list_reference": "銷毀清冊-2026-2"}),
        ("approve_destruction_list", "agency_head", {"decision": "approve"}),
    ])
    assert _status(org_db, iid) == InstanceStatus.COMPLETED
    assert [r for _, r in _history(org_db, iid)] == ["agency_admin", "agency_head", "agency_admin", "agency_head"]


@pytest.mark.clause("R7.2", "R7.3")
def test_r7_2_r7_3_destruction_must_respect_the_3_year_retention(org_db, users):
    iid = _start(org_db, users, "records_disposition")
    fields = _invalid(org_db, users, iid, {**DESTRUCTION, "destroyed_only_after_3_years": False,
                                           "audit_records_retained_3_years": False})
    assert {"destroyed_only_after_3_years", "audit_records_retained_3_years"} <= set(fields)
    assert "destruction_list_reference" in _invalid(org_db, users, iid, {**DESTRUCTION,
                                                                         "destruction_list_reference": " "})
