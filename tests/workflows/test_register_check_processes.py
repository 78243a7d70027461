"""Every path of monthly_register_check (R3.3, R3.4, R6.1, R6.5, R6.6, R8.1.2) and quarterly_log_review (R8.1.1):
the register collected, the query log uploaded into a task and imported, the record-by-record reconciliation,
explanation tasks for findings, the review that waits for them, and the report to the agency admin."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from process_walk import ready_names, status, step, task
from sqlalchemy import func, select, update

from engine import runtime
from engine.assignment import NotAllowed
from engine.evidence import evidence_path
from engine.inspect import task_details
from engine.models import Agency, EvidenceFile, InstanceStatus, ProcessInstance, RoleAssignment
from engine.scripts import script_engine
from engine.state import load_workflow
from engine.task_files import Upload, UploadTooLarge
from workflows import org
from workflows.models_records import ImportedFile, ReconciliationFinding
from workflows.query_log import import_query_log
from workflows.record_settings import per_record_method, set_per_record_method
from workflows.register import record_entry

HEADER = "查詢時間,查詢者帳號,被查詢人身分證號,查詢項目,案件編號\n"
# amy: C1 registered (matched), C2 not registered (a finding); both on working days in office hours.
LOG_WITH_FINDING = HEADER + "2026-10-05 10:00:00,amy,A1,投保,C1\n2026-10-06 11:00:00,amy,A2,投保,C2\n"
LOG_CLEAN = HEADER + "2026-10-05 10:00:00,amy,A1,投保,C1\n"
MONTH = {"obligation": "monthly_register_check", "period": "2026-10", "opens_at": "2026-11-01T00:00:00+08:00",
         "due_at": "2026-11-30T23:59:59+08:00", "clauses": ["R3.3", "R8.1.2"]}
QUARTER = {"obligation": "quarterly_log_download", "period": "2026-Q4", "opens_at": "2027-01-01T00:00:00+08:00",
           "due_at": "2027-01-31T23:59:59+08:00", "clauses": ["R8.1.1"]}
UPLOADED_ON = {"downloaded_on": "2026-11-02"}


@pytest.fixture
def walk(org_db, users, tmp_path, monkeypatch):
    """The demo organisation, evidence under tmp_path, and amy: a WebIR user since 2024 with C1 registered."""
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path))
    with org_db.transaction() as session:
        amy = org.create_user(session, "amy", "DSW", "long-password", roles=["user"])
        session.execute(update(RoleAssignment).where(RoleAssignment.user_id == amy.id)
                        .values(granted_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)))
        record_entry(session, _dsw(session), amy, {"case_number": "C1", "query_time": "2026-10-05T10:00:00",
                                                   "purpose": "社會救助審查", "subject_id": "A1"})
        users["amy"] = amy.id
    return org_db


def _dsw(session) -> Agency:
    return session.scalar(select(Agency).where(Agency.code == "DSW"))


def _start(db, users, process_id: str) -> int:
    data = MONTH if process_id == "monthly_register_check" else QUARTER
    return runtime.start_instance(db, process_id, users["dol.admin"], agency_code="DSW", data=data)


def _csv(text: str, name: str = "webir.csv") -> dict[str, Upload]:
    return {"query_log_file": Upload(name, text.encode("utf-8"), "text/csv")}


def _upload(db, iid, name, user_id, text: str, filename: str = "webir.csv") -> None:
    runtime.complete_task(db, task(db, iid, name).id, user_id, UPLOADED_ON, _csv(text, filename))


def _import_beforehand(db, tmp_path, text: str) -> None:
    (tmp_path / "log.csv").write_text(text, encoding="utf-8")
    import_query_log(db, tmp_path / "log.csv", "DSW", tmp_path)


def _data(db, iid) -> dict:
    from engine.models import ProcessVersion

    with db.sessions() as session:
        instance = session.get(ProcessInstance, iid)
        version = session.get(ProcessVersion, instance.process_version_id)
        workflow = load_workflow(version, instance.state, script_engine())
        return max(workflow.get_tasks(), key=lambda t: t.last_state_change).data  # the latest task's data


def _explain(db, users, explanation_iid: int, decision: str = "accepted") -> None:
    step(db, explanation_iid, "explain_findings", users["amy"], {"explanation": "忘了登記 forgot to register"})
    step(db, explanation_iid, "review_explanation", users["dsw.unit"], {"decision": decision})


def _per_record(db, on: bool = True) -> None:
    with db.transaction() as session:
        set_per_record_method(session, _dsw(session), on, "dsw.admin")


# ------------------------------------------------------------------ monthly_register_check

def test_r3_3_count_method_missing_log_is_uploaded_then_explained_reviewed_and_reported(walk, users):
    iid = _start(walk, users, "monthly_register_check")
    assert ready_names(walk, iid) == ["collect_register"]
    step(walk, iid, "collect_register", users["dsw.unit"], {"registers_collected": True, "users_reminded": 1})
    # R8.1.2: no imported log covers October: the agency admin is asked to download and upload it.
    assert ready_names(walk, iid) == ["upload_query_log"]
    _upload(walk, iid, "upload_query_log", users["dsw.admin"], LOG_WITH_FINDING)
    assert ready_names(walk, iid) == ["confirm_counts"]
    data = _data(walk, iid)
    assert data["query_log_import"]["imported"] == 2 and data["query_log_file"]["sha256"] == hashlib.sha256(
        LOG_WITH_FINDING.encode()).hexdigest()
    recon = data["reconciliation"]
    assert (recon["register_entries"], recon["log_records"], recon["findings"]["logged_not_registered"]) == (1, 2, 1)
    [explanation] = recon["explanation_instances"]
    with pytest.raises(runtime.FormInvalid) as invalid:  # R3.3: a difference needs its note
        step(walk, iid, "confirm_counts", users["dsw.unit"], {"counts_agree": False})
    assert "discrepancy_note" in invalid.value.fields
    step(walk, iid, "confirm_counts", users["dsw.unit"], {"counts_agree": False, "discrepancy_note": "C2 未登記"})
    assert ready_names(walk, iid) == ["review_explanations"]
    # R6.1: the review waits for amy's explanation and its review.
    with pytest.raises(runtime.FormInvalid) as waiting:
        step(walk, iid, "review_explanations", users["dsw.unit"], {"review_summary": "已審閱 reviewed"})
    assert f"#{explanation}" in waiting.value.fields["_form"]
    _explain(walk, users, explanation)
    step(walk, iid, "review_explanations", users["dsw.unit"], {"review_summary": "已審閱 reviewed"})
    # R6.5: the report goes to the agency admin.
    assert ready_names(walk, iid) == ["receive_monthly_report"]
    with walk.sessions() as session:
        details = task_details(session, task(walk, iid, "receive_monthly_report"))
    assert "已接受說明 accepted 1" in details["instructions"] and "不符 differ" in details["instructions"]
    step(walk, iid, "receive_monthly_report", users["dsw.admin"], {"acknowledged": True})
    assert status(walk, iid) == InstanceStatus.COMPLETED
    report = _data(walk, iid)["monthly_report"]
    assert (report["findings_total"], report["accepted"], report["unexplained"], report["difference"]) == (1, 1, 0, 1)


def test_r3_4_per_record_method_skips_the_manual_steps_and_a_clean_month_goes_straight_to_the_report(
        walk, users, tmp_path):
    _per_record(walk)
    _import_beforehand(walk, tmp_path, LOG_CLEAN)
    iid = _start(walk, users, "monthly_register_check")
    # No collect_register, no upload (the log is imported), no count confirmation, no findings.
    assert ready_names(walk, iid) == ["receive_monthly_report"]
    data = _data(walk, iid)
    assert data["check_context"]["per_record_method"] is True
    assert data["reconciliation"]["findings"]["matched"] == 1 and data["reconciliation"]["findings_total"] == 0
    step(walk, iid, "receive_monthly_report", users["dsw.admin"], {"acknowledged": True, "remarks": "無 none"})
    assert status(walk, iid) == InstanceStatus.COMPLETED


def test_r6_6_per_record_method_with_findings_waits_for_the_explanations(walk, users, tmp_path):
    _per_record(walk)
    _import_beforehand(walk, tmp_path, LOG_WITH_FINDING)
    iid = _start(walk, users, "monthly_register_check")
    assert ready_names(walk, iid) == ["review_explanations"]
    [explanation] = _data(walk, iid)["reconciliation"]["explanation_instances"]
    _explain(walk, users, explanation)
    step(walk, iid, "review_explanations", users["dsw.unit"], {"review_summary": "說明合理 explained"})
    step(walk, iid, "receive_monthly_report", users["dsw.admin"], {"acknowledged": True})
    assert status(walk, iid) == InstanceStatus.COMPLETED


def test_r3_3_count_method_clean_month_collects_confirms_and_reports(walk, users, tmp_path):
    _import_beforehand(walk, tmp_path, LOG_CLEAN)
    iid = _start(walk, users, "monthly_register_check")
    step(walk, iid, "collect_register", users["dsw.unit"], {"registers_collected": True})
    step(walk, iid, "confirm_counts", users["dsw.unit"], {"counts_agree": True})
    assert ready_names(walk, iid) == ["receive_monthly_report"]
    step(walk, iid, "receive_monthly_report", users["dsw.admin"], {"acknowledged": True})
    assert status(walk, iid) == InstanceStatus.COMPLETED


def test_r8_1_1_a_refused_upload_returns_to_the_upload_task_with_the_reason(walk, users):
    iid = _start(walk, users, "monthly_register_check")
    step(walk, iid, "collect_register", users["dsw.unit"], {"registers_collected": True})
    _upload(walk, iid, "upload_query_log", users["dsw.admin"], "just some words\nwithout the header\n")
    assert ready_names(walk, iid) == ["upload_query_log"]
    with walk.sessions() as session:
        details = task_details(session, task(walk, iid, "upload_query_log"))
        assert session.scalar(select(func.count()).select_from(ImportedFile)) == 0
    assert "refused" in details["instructions"]
    _upload(walk, iid, "upload_query_log", users["dsw.admin"], LOG_CLEAN)
    assert ready_names(walk, iid) == ["confirm_counts"]


def test_r3_4_the_method_setting_defaults_to_count_and_is_audited(walk):
    with walk.transaction() as session:
        dsw = _dsw(session)
        assert per_record_method(session, dsw.id) is False
        set_per_record_method(session, dsw, True, "dsw.admin")
        assert per_record_method(session, dsw.id) is True
        set_per_record_method(session, dsw, False, "dsw.admin")
        assert per_record_method(session, dsw.id) is False


# ------------------------------------------------------------------ file fields in task forms

def _evidence_rows(db) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(EvidenceFile))


def test_upload_field_is_required_type_checked_size_limited_and_keeps_nothing_when_refused(walk, users, tmp_path):
    iid = _start(walk, users, "quarterly_log_review")
    [t] = [task(walk, iid, "download_query_log")]
    admin = users["dsw.admin"]
    with pytest.raises(runtime.FormInvalid) as missing:
        runtime.complete_task(walk, t.id, admin, UPLOADED_ON)
    assert "query_log_file" in missing.value.fields
    with pytest.raises(runtime.FormInvalid) as wrong_type:
        runtime.complete_task(walk, t.id, admin, UPLOADED_ON, _csv(LOG_CLEAN, "log.exe"))
    assert "query_log_file" in wrong_type.value.fields
    with pytest.raises(UploadTooLarge):
        runtime.complete_task(walk, t.id, admin, UPLOADED_ON, _csv("x" * (20 * 1024 * 1024 + 1)))
    with pytest.raises(runtime.FormInvalid) as bad_date:  # a valid file with another invalid field: not kept
        runtime.complete_task(walk, t.id, admin, {"downloaded_on": "2026-13-40"}, _csv(LOG_CLEAN))
    assert "downloaded_on" in bad_date.value.fields
    assert _evidence_rows(walk) == 0
    assert not evidence_path(tmp_path, hashlib.sha256(LOG_CLEAN.encode()).hexdigest()).exists()
    forged = {"evidence_file_id": 999, "sha256": "0" * 64}
    with pytest.raises(runtime.FormInvalid) as unknown:
        runtime.complete_task(walk, t.id, admin, {**UPLOADED_ON, "query_log_file": forged})
    assert "query_log_file" in unknown.value.fields
    assert ready_names(walk, iid) == ["download_query_log"]


# ------------------------------------------------------------------ quarterly_log_review

def test_r8_1_1_uploaded_log_is_kept_imported_and_a_clean_quarter_ends_without_review(walk, users, tmp_path):
    iid = _start(walk, users, "quarterly_log_review")
    _upload(walk, iid, "download_query_log", users["dsw.admin"], LOG_CLEAN)
    assert status(walk, iid) == InstanceStatus.COMPLETED
    data = _data(walk, iid)
    sha = hashlib.sha256(LOG_CLEAN.encode()).hexdigest()
    assert data["query_log_file"]["sha256"] == sha and data["query_log_import"]["imported"] == 1
    assert data["reconciliation"]["findings_total"] == 0
    with walk.sessions() as session:
        kept = session.get(EvidenceFile, data["query_log_file"]["evidence_file_id"])
        assert (kept.sha256, kept.retention_class, kept.source_instance_id) == (sha, "query_log", iid)
        assert session.scalar(select(ImportedFile.sha256)) == sha
    assert evidence_path(tmp_path, sha).read_bytes() == LOG_CLEAN.encode()


def test_r8_1_1_quarter_findings_are_explained_then_reviewed_by_the_audit_team(walk, users):
    iid = _start(walk, users, "quarterly_log_review")
    _upload(walk, iid, "download_query_log", users["dsw.admin"], LOG_WITH_FINDING)
    assert ready_names(walk, iid) == ["review_anomalies"]
    [explanation] = _data(walk, iid)["reconciliation"]["explanation_instances"]
    review = {"conclusion": "漏登 forgot to register", "referred_for_investigation": False}
    with pytest.raises(runtime.FormInvalid):
        step(walk, iid, "review_anomalies", users["dsw.audit"], review)
    _explain(walk, users, explanation)
    step(walk, iid, "review_anomalies", users["dsw.audit"], review)
    assert status(walk, iid) == InstanceStatus.COMPLETED


def test_r8_1_1_refused_quarter_file_returns_to_the_agency_admin(walk, users):
    iid = _start(walk, users, "quarterly_log_review")
    _upload(walk, iid, "download_query_log", users["dsw.admin"], "\x00\x01binary")
    assert ready_names(walk, iid) == ["download_query_log"]
    assert _data(walk, iid)["query_log_import"]["taken"] is False
    _upload(walk, iid, "download_query_log", users["dsw.admin"], LOG_CLEAN)
    assert status(walk, iid) == InstanceStatus.COMPLETED


def test_r6_1_a_finding_explained_in_the_monthly_check_is_not_asked_again_in_the_quarter(walk, users, tmp_path):
    _per_record(walk)
    _import_beforehand(walk, tmp_path, LOG_WITH_FINDING)
    monthly = _start(walk, users, "monthly_register_check")
    [explanation] = _data(walk, monthly)["reconciliation"]["explanation_instances"]
    _explain(walk, users, explanation)
    quarterly = _start(walk, users, "quarterly_log_review")
    _upload(walk, quarterly, "download_query_log", users["dsw.admin"], LOG_WITH_FINDING)  # same file: duplicates
    recon = _data(walk, quarterly)["reconciliation"]
    assert recon["explanation_instances"] == [] and recon["explanations_carried_over"] == 1
    with walk.sessions() as session:
        carried = session.scalar(select(ReconciliationFinding).where(
            ReconciliationFinding.run_id == recon["reconciliation_run_id"]))
        assert (carried.explanation_instance_id, carried.review_decision) == (explanation, "accepted")
    step(walk, quarterly, "review_anomalies", users["dsw.audit"], {"conclusion": "已說明 explained",
                                                                    "referred_for_investigation": False})
    assert status(walk, quarterly) == InstanceStatus.COMPLETED


def test_upload_tasks_belong_to_the_agency_admin_of_the_agency_only(walk, users):
    iid = _start(walk, users, "quarterly_log_review")
    t = task(walk, iid, "download_query_log")
    for other in ("dsw.unit", "daan.admin"):
        with pytest.raises((runtime.NotFound, NotAllowed)):
            runtime.complete_task(walk, t.id, users[other], UPLOADED_ON, _csv(LOG_CLEAN))
    assert _evidence_rows(walk) == 0
