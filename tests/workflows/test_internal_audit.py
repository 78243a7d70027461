"""The half-yearly internal audit and the yearly submission, end to end (R8.1.3-R8.1.6, R7.3, R5.4).

Form 4 is pre-filled from the records; the head's approval seals the evidence package that replaces the CD, which
verifies against its SHA-256 manifest (by function, CLI and API) and fails when altered; the yearly submission
links both packages, the master admin acknowledges or returns it, and its lateness is the submission's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine import clock, evidence, obligations, runtime
from engine.inspect import task_details
from engine.models import (
    Agency,
    EvidenceFile,
    HumanTask,
    InstanceStatus,
    ObligationPeriod,
    ProcessInstance,
    RoleAssignment,
    TaskStatus,
    User,
)
from engine.settings import instance_path
from engine.specs import latest_version
from web.cli import main
from workflows.evidence_package import package_of, verify_archive, verify_package
from workflows.models_accounts import AccountRevocation
from workflows.models_records import QueryLogRecord
from workflows.query_log import import_query_log
from workflows.reconcile import reconcile
from workflows.register import import_register

TPE = dt.timezone(dt.timedelta(hours=8))
LOG = ("query_time,account,subject_id,query_item,case_number\n"
       "2026-05-04 09:10:00,dsw.user,A123456789,投保資料,C-1\n"
       "2026-05-05 10:00:00,dsw.user,B223456789,投保資料,C-2\n"
       "2026-05-09 22:30:00,dsw.user,C123456780,投保資料,C-3\n")
REGISTER = ("case_number,querier,query_date,purpose,subject_id\n"
            "C-1,dsw.user,2026-05-04,低收入戶資格查核,A123456789\n"
            "C-2,dsw.user,2026-05-05,低收入戶資格查核,B223456789\n")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path / "instance"


def _ready(db, iid) -> list[HumanTask]:
    with db.sessions() as session:
        return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == iid,
                                                             HumanTask.status == TaskStatus.READY)))


def _open(db, obligation: str, process_id: str, label: str, opens: dt.datetime, due: dt.datetime) -> int:
    """Open one period of DSW as the scheduler does: its row and its instance, no human starter."""
    with db.transaction() as session:
        agency = session.scalar(select(Agency).where(Agency.code == "DSW"))
        instance = runtime.start_in_session(session, latest_version(session, process_id), agency, None, {
            "obligation": obligation, "period": label, "opens_at": opens.isoformat(), "due_at": due.isoformat()})
        session.add(ObligationPeriod(obligation_id=obligation, agency_id=agency.id, label=label, opens_at=opens,
                                     due_at=due, opened_at=clock.now(), instance_id=instance.id))
        return instance.id


def _form_4_answers(db, task: HumanTask, findings: str = "見各項 See the items") -> dict:
    """The audit team keeps the pre-filled answers and fills the rest."""
    with db.sessions() as session:
        details = task_details(session, task)
    answers = {"audited_on": clock.now().astimezone(TPE).date().isoformat(), "findings": findings}
    for name in details["form"]["schema"]["properties"]:
        if name.startswith("item_"):
            answers[name] = details["data"].get(name, "compliant")
        elif name.startswith("evidence_"):
            answers[name] = details["data"].get(name, "抽查紀錄 Sampled the records")
    return answers


def _audit(db, users, label: str, opens: dt.datetime, return_once: bool = False) -> int:
    """Run one half-year audit from its opening to the head's approval."""
    due = opens + dt.timedelta(days=61)
    iid = _open(db, "semiannual_internal_audit", "semiannual_internal_audit", label, opens, due)
    [task] = _ready(db, iid)
    answers = _form_4_answers(db, task)
    runtime.complete_task(db, task.id, users["dsw.audit"], answers)
    if return_once:
        [sign] = _ready(db, iid)
        runtime.complete_task(db, sign.id, users["dsw.head"], {"decision": "return", "comment": "補佐證 More evidence"})
        [again] = _ready(db, iid)
        runtime.complete_task(db, again.id, users["dsw.audit"], {**answers, "remark_R6_1": "已補正 Completed"})
    [sign] = _ready(db, iid)
    runtime.complete_task(db, sign.id, users["dsw.head"], {"decision": "approve", "approved": True})
    return iid


def _load_records(db, tmp_path) -> None:
    (tmp_path / "log.csv").write_text(LOG, encoding="utf-8")
    (tmp_path / "register.csv").write_text(REGISTER, encoding="utf-8")
    import_query_log(db, tmp_path / "log.csv", "DSW", instance_path(), actor="dsw.admin")
    import_register(db, tmp_path / "register.csv", "DSW", instance_path(), actor="dsw.unit")
    with db.transaction() as session:
        reconcile(session, session.scalar(select(Agency).where(Agency.code == "DSW")), "2026-05", actor="dsw.unit")


# ------------------------------------------------------------------ pre-filled checklist

def _complete_directly(db, iid: int, at: dt.datetime) -> None:
    """Test set-up: a period's instance finished at `at` (its own process is tested elsewhere)."""
    with db.transaction() as session:
        instance = session.get(ProcessInstance, iid)
        instance.status, instance.ended_at = InstanceStatus.COMPLETED, at


def test_r8_1_3_checklist_is_prefilled_from_the_half_years_records(org_db, users, sim_clock, store):
    sim_clock.set(dt.datetime(2026, 6, 30, 12, tzinfo=TPE))
    obligations.open_due_periods(org_db)
    with org_db.sessions() as session:
        rows = {r.label: r for r in session.scalars(select(ObligationPeriod).join(Agency).where(Agency.code == "DSW"))}
    for label in ("2026-01", "2026-02", "2026-03", "2026-04", "2026-Q1"):
        _complete_directly(org_db, rows[label].instance_id, rows[label].opens_at + dt.timedelta(days=3))
    with org_db.transaction() as session:  # R5.4: revoked in March, yet the role stayed and the account queried
        user = session.scalar(select(User).where(User.username == "dsw.user"))
        for grant in session.scalars(select(RoleAssignment).where(RoleAssignment.user_id == user.id)):
            grant.granted_at = dt.datetime(2026, 1, 1, tzinfo=TPE)  # granted before the revocation, never removed
        session.add(AccountRevocation(instance_id=rows["2026-01"].instance_id, user_id=user.id,
                                      agency_id=user.agency_id, reason_kind="resigned",
                                      revocation_date=dt.date(2026, 3, 1), destroy_not_before=dt.date(2029, 3, 1),
                                      revoked_at=dt.datetime(2026, 3, 1, 9, tzinfo=TPE)))
        session.add(QueryLogRecord(agency_id=user.agency_id, queried_at=dt.datetime(2026, 3, 10, 10, tzinfo=TPE),
                                   query_ts=int(dt.datetime(2026, 3, 10, 10, tzinfo=TPE).timestamp()),
                                   account="dsw.user", subject_id="A123456789", query_item="投保資料"))
    sim_clock.set(dt.datetime(2026, 7, 2, 9, tzinfo=TPE))
    obligations.open_due_periods(org_db)  # opens 2026-H1 (and June, Q2): the pre-fill runs at its start
    with org_db.sessions() as session:
        audit_id = session.scalar(select(ObligationPeriod.instance_id).join(Agency).where(
            Agency.code == "DSW", ObligationPeriod.label == "2026-H1"))
    [task] = _ready(org_db, audit_id)
    with org_db.sessions() as session:
        details = task_details(session, task)
    data = details["data"]
    assert data["item_R3_3"] == data["item_R8_1_2"] == "non_compliant"  # May's check is late
    assert "2026-05 逾期未完成 late" in data["evidence_R3_3"] and "2026-01 已完成 done" in data["evidence_R3_3"]
    assert "2026-06 辦理中 open" in data["evidence_R3_3"]
    assert data["item_R8_1_1"] == "compliant" and "2026-Q2 辦理中 open" in data["evidence_R8_1_1"]
    assert data["item_R5_4"] == "non_compliant" and "dsw.user" in data["evidence_R5_4"]
    assert "queries after revocation: 1" in data["evidence_R5_4"]
    assert data["item_R5_5"] == "compliant" and data["item_R8_1_5"] == "compliant"
    assert "item_R6_2" not in data  # nothing in the records to judge it by: the audit team's own answer
    assert {"R3.3", "R5.4", "R8.1.2"} <= set(data["audit_prefill"]["non_compliant"])
    assert "R3.3" in details["instructions"] and "2026-H1" in details["instructions"]


# ------------------------------------------------------------------ evidence package

def _members(root, row: EvidenceFile) -> dict[str, bytes]:
    with zipfile.ZipFile(evidence.path_of(root, row)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_r8_1_5_approval_seals_the_half_years_records_into_a_package_that_verifies(org_db, users, sim_clock,
                                                                                   store, tmp_path):
    sim_clock.set(dt.datetime(2026, 6, 10, 9, tzinfo=TPE))
    _load_records(org_db, tmp_path)
    sim_clock.set(dt.datetime(2026, 7, 5, 9, tzinfo=TPE))
    iid = _audit(org_db, users, "2026-H1", dt.datetime(2026, 7, 1, tzinfo=TPE), return_once=True)
    with org_db.sessions() as session:
        assert session.get(ProcessInstance, iid).status == InstanceStatus.COMPLETED
        row = package_of(session, iid)
        check = verify_package(store, row)
    assert row.retention_class == "audit_record" and row.retain_until == dt.date(2029, 7, 5)  # R7.3: 3 years
    assert check.ok and check.problems == []
    members = _members(store, row)
    manifest = json.loads(members.pop("manifest.json"))
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == {
        name: hashlib.sha256(content).hexdigest() for name, content in members.items()}
    [log] = [n for n in members if n.startswith("query_logs/")]
    assert members[log] == LOG.encode("utf-8")  # the raw file as downloaded from WebIR
    assert any(n.startswith("register/files/") for n in members)
    assert "C-2" in members["register/register_entries.csv"].decode("utf-8-sig")
    assert [r["period"] for r in json.loads(members["reconciliation/runs.json"])] == ["2026-05"]
    assert "logged_not_registered" in members["reconciliation/findings.csv"].decode("utf-8-sig")
    checklist = json.loads(members["checklist_form_4.json"])
    assert len(checklist["items"]) == 18 and all(i["result"] and i["evidence"] for i in checklist["items"])
    assert {i["clause"]: i["remark"] for i in checklist["items"]}["R6.1"] == "已補正 Completed"
    sign_off = json.loads(members["sign_off.json"])
    assert sign_off["decision"] == "approve" and sign_off["signed_off_by"] == "dsw.head"
    assert [s["task"] for s in sign_off["steps"]] == ["internal_audit_form_4", "head_sign_off",
                                                      "internal_audit_form_4", "head_sign_off"]
    assert manifest["period"] == "2026-H1" and manifest["agency"] == "DSW"


def test_r8_1_5_an_altered_package_or_member_fails_verification(org_db, users, sim_clock, store, tmp_path):
    sim_clock.set(dt.datetime(2026, 7, 5, 9, tzinfo=TPE))
    iid = _audit(org_db, users, "2026-H1", dt.datetime(2026, 7, 1, tzinfo=TPE))
    with org_db.sessions() as session:
        row = package_of(session, iid)
    members = _members(store, row)
    copy = tmp_path / "copy.zip"
    with zipfile.ZipFile(copy, "w") as archive:  # an auditor's copy with one member changed
        for name, content in members.items():
            archive.writestr(name, b"{}" if name == "sign_off.json" else content)
        archive.writestr("extra.txt", b"slipped in")
    check = verify_archive(copy)
    assert not check.ok and any(p.startswith("sign_off.json") for p in check.problems)
    assert any(p.startswith("extra.txt") for p in check.problems)
    stored = evidence.path_of(store, row)
    stored.write_bytes(stored.read_bytes() + b"x")
    check = verify_package(store, row)
    assert not check.ok and "altered" in check.problems[0]


def test_r8_1_5_webir_evidence_verify_exits_0_for_a_sound_package_and_1_for_an_altered_one(org_db, users, sim_clock,
                                                                                           store, monkeypatch):
    sim_clock.set(dt.datetime(2026, 7, 5, 9, tzinfo=TPE))
    iid = _audit(org_db, users, "2026-H1", dt.datetime(2026, 7, 1, tzinfo=TPE))
    with org_db.sessions() as session:
        row = package_of(session, iid)
    monkeypatch.setenv("WEBIR_DATABASE_URL", org_db.engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    sound = runner.invoke(main, ["evidence", "verify", str(row.id)])
    assert sound.exit_code == 0 and "verified" in sound.output
    as_file = runner.invoke(main, ["evidence", "verify", "--file", str(evidence.path_of(store, row)), "--json"])
    assert as_file.exit_code == 0 and json.loads(as_file.output)["ok"] is True
    assert runner.invoke(main, ["evidence", "verify", "999"]).exit_code == 1
    path = evidence.path_of(store, row)
    path.write_bytes(path.read_bytes()[:-10])
    broken = runner.invoke(main, ["evidence", "verify", str(row.id)])
    assert broken.exit_code == 1 and "NOT verified" in broken.output and "Traceback" not in broken.output
    clock.install(sim_clock)


def test_r8_1_5_package_is_verifiable_over_the_api_and_linked_on_the_instance_page(app, client, org_db, users,
                                                                                   sim_clock, token_for):
    from tests.web.session_helpers import login

    sim_clock.set(dt.datetime(2026, 7, 5, 9, tzinfo=TPE))
    iid = _audit(org_db, users, "2026-H1", dt.datetime(2026, 7, 1, tzinfo=TPE))
    with org_db.sessions() as session:
        package_id = package_of(session, iid).id
    answer = client.get(f"/api/v1/evidence/{package_id}/verify", headers=token_for("dsw.audit"))
    assert answer.status_code == 200 and answer.get_json()["ok"] is True
    assert answer.get_json()["manifest"]["period"] == "2026-H1"
    assert client.get(f"/api/v1/evidence/{package_id}/verify", headers=token_for("daan.admin")).status_code == 404
    assert client.get(f"/api/v1/evidence/{package_id}/verify", headers=token_for("dol.audit")).status_code == 200
    login(client, "dsw.audit")
    page = client.get(f"/instances/{iid}").get_data(as_text=True)
    assert f"/api/v1/evidence/{package_id}/content" in page and f"/api/v1/evidence/{package_id}/verify" in page
    download = client.get(f"/api/v1/evidence/{package_id}/content")
    assert download.status_code == 200 and download.data[:2] == b"PK"


# ------------------------------------------------------------------ yearly submission

def _status_of(db, obligation: str, label: str) -> dict:
    with db.sessions() as session:
        agency = session.scalar(select(Agency).where(Agency.code == "DSW"))
        [row] = [obligations.period_dict(s) for s in obligations.period_statuses(session, [agency])
                 if s.obligation.id == obligation and s.period.label == label]
    return row


def test_r8_1_6_submission_links_both_packages_and_its_lateness_is_seen_by_the_master(app, client, org_db, users,
                                                                                      sim_clock, token_for):
    sim_clock.set(dt.datetime(2026, 7, 5, 9, tzinfo=TPE))
    h1 = _audit(org_db, users, "2026-H1", dt.datetime(2026, 7, 1, tzinfo=TPE))
    sim_clock.set(dt.datetime(2027, 1, 8, 9, tzinfo=TPE))
    h2 = _audit(org_db, users, "2026-H2", dt.datetime(2027, 1, 1, tzinfo=TPE))
    submission = _open(org_db, "annual_audit_submission", "annual_audit_submission", "2026",
                       dt.datetime(2027, 1, 1, tzinfo=TPE), dt.datetime(2027, 3, 31, 23, 59, 59, tzinfo=TPE))
    with org_db.sessions() as session:
        packages = [package_of(session, h1).id, package_of(session, h2).id]
        [task] = _ready(org_db, submission)
        details = task_details(session, task)
    assert details["data"]["audit_count"] == 2
    assert all(f"#{p}" in details["data"]["document_reference"] for p in packages)
    assert [a["evidence_id"] for a in details["data"]["half_year_audits"]["audits"]] == packages
    sim_clock.set(dt.datetime(2027, 3, 20, 10, tzinfo=TPE))
    form = {"documents_compiled": True, "audit_count": 2, "document_reference": details["data"]["document_reference"],
            "sent_on": "2027-03-20", "official_letter_number": "北市社資字第1160000001號"}
    runtime.complete_task(org_db, task.id, users["dsw.audit"], form)
    assert _status_of(org_db, "annual_audit_submission", "2026")["status"] == "done"  # submitted in time
    sim_clock.set(dt.datetime(2027, 4, 2, 10, tzinfo=TPE))
    [ack] = _ready(org_db, submission)
    assert ack.role == "master_admin"
    runtime.complete_task(org_db, ack.id, users["dol.admin"], {"master_decision": "return", "remarks": "缺簽核"})
    mine = client.get("/api/v1/obligations?agency=DSW&year=2026", headers=token_for("dsw.audit")).get_json()
    master = client.get("/api/v1/obligations?year=2026", headers=token_for("dol.admin")).get_json()
    for listing in (mine, master):  # R8.1.6: returned after 31 March, it is late for both sides to see
        [row] = [r for r in listing if r["obligation"] == "annual_audit_submission" and r["agency"] == "DSW"]
        assert row["status"] == "late" and row["instance_id"] == submission
    sim_clock.set(dt.datetime(2027, 4, 3, 10, tzinfo=TPE))
    [again] = _ready(org_db, submission)
    assert "缺簽核" in task_details_of(org_db, again)["instructions"]
    runtime.complete_task(org_db, again.id, users["dsw.audit"], {**form, "note": "已補簽核 Sign-off added"})
    [ack] = _ready(org_db, submission)
    assert "LATE" in task_details_of(org_db, ack)["instructions"]
    runtime.complete_task(org_db, ack.id, users["dol.admin"], {"master_decision": "acknowledge"})
    final = _status_of(org_db, "annual_audit_submission", "2026")
    assert final["status"] == "done" and final["late"] is True
    assert final["completed_at"].startswith("2027-04-03T10:00")  # the submission's time, not the acknowledgement's
    from tests.web.session_helpers import login

    login(client, "dol.admin")  # the master agency downloads both packages from the submission's page
    page = client.get(f"/instances/{submission}").get_data(as_text=True)
    assert all(f"/api/v1/evidence/{p}/content" in page for p in packages)


def task_details_of(db, task: HumanTask) -> dict:
    with db.sessions() as session:
        return task_details(session, session.get(HumanTask, task.id))


def test_r8_1_6_a_period_fulfilled_by_submission_is_not_escalated(org_db, users, sim_clock):
    sim_clock.set(dt.datetime(2027, 3, 30, 9, tzinfo=TPE))
    submission = _open(org_db, "annual_audit_submission", "annual_audit_submission", "2026",
                       dt.datetime(2027, 1, 1, tzinfo=TPE), dt.datetime(2027, 3, 31, 23, 59, 59, tzinfo=TPE))
    [task] = _ready(org_db, submission)
    runtime.complete_task(org_db, task.id, users["dsw.audit"], {
        "documents_compiled": True, "audit_count": 0, "document_reference": "—", "sent_on": "2027-03-30",
        "official_letter_number": "北市社資字第1160000002號"})
    sim_clock.set(dt.datetime(2027, 4, 20, 9, tzinfo=TPE))  # the master has not acknowledged yet
    assert obligations.escalate_late_periods(org_db) == 0
    row = _status_of(org_db, "annual_audit_submission", "2026")
    assert (row["status"], row["late"]) == ("done", False)


def test_r8_1_4_the_audit_teams_task_page_shows_the_prefilled_answers_and_takes_the_html_form(app, client, org_db,
                                                                                             users, sim_clock):
    from tests.web.session_helpers import login, post

    sim_clock.set(dt.datetime(2026, 7, 5, 9, tzinfo=TPE))
    iid = _open(org_db, "semiannual_internal_audit", "semiannual_internal_audit", "2026-H1",
                dt.datetime(2026, 7, 1, tzinfo=TPE), dt.datetime(2026, 8, 31, 23, 59, 59, tzinfo=TPE))
    [task] = _ready(org_db, iid)
    prefilled = task_details_of(org_db, task)["data"]
    login(client, "dsw.audit")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert prefilled["evidence_R8_1_1"].split("；")[0] in page  # the evidence text the system wrote
    assert 'name="evidence_R6_2"' in page and 'name="remark_R6_2"' in page
    answers = _form_4_answers(org_db, task)
    answer = post(client, f"/tasks/{task.id}", answers, page=f"/tasks/{task.id}")
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]
    [sign] = _ready(org_db, iid)
    assert sign.name == "head_sign_off" and sign.role == "agency_head"
