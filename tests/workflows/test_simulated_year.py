"""Issue 6, must show: a simulated year for one agency (simulated clock, scripted users) produces and completes
every cycle, with evidence packages whose manifests verify; a skipped quarterly download shows as late and
escalates (R8.1.1-R8.1.6, R3.3, R5.6, R6.1, R7.3, R7.4).

The year and its scripted users are in tests/simulated_year.py (shared with `python -m bench state-size`).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from simulated_year import END, QUERIER, SKIPPED, START, SimulatedYear, live_the_year, only_this_agency
from sqlalchemy import func, select

from engine import obligations
from engine.calendar import add_months
from engine.inspect import task_details
from engine.models import (
    Agency,
    EvidenceFile,
    HumanTask,
    InstanceStatus,
    ObligationPeriod,
    ProcessInstance,
    TaskStatus,
    User,
)
from engine.settings import instance_path
from workflows.evidence_package import package_of, verify_package
from workflows.models_records import ImportedFile, QueryLogRecord, ReconciliationFinding


def _statuses(db) -> dict[tuple[str, str], dict]:
    with db.sessions() as session:
        dsw = session.scalar(select(Agency).where(Agency.code == "DSW"))
        return {(s.obligation.id, s.period.label): obligations.period_dict(s)
                for s in obligations.period_statuses(session, [dsw])}


@pytest.fixture
def one_agency(org_db, sim_clock, tmp_path, monkeypatch):
    """DSW alone owes the obligations (DAAN unapproved for this test); roles held since before the year."""
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path / "instance"))
    sim_clock.set(START)
    only_this_agency(org_db)
    return org_db


def test_r8_1_simulated_year_completes_every_cycle_with_verified_packages_and_escalates_a_skipped_download(
        one_agency, users):
    db, began = one_agency, time.monotonic()
    year = SimulatedYear(db, users)

    def skip_ended() -> None:
        assert SKIPPED[1] not in year.uploads
        _assert_skipped_download_is_late_and_escalated(db)

    live_the_year(db, year, skip_ended)

    statuses = _statuses(db)
    owed = {key: s for key, s in statuses.items() if dt.datetime.fromisoformat(s["opens_at"]) <= END}
    assert {k[0] for k in owed} == {"monthly_register_check", "quarterly_log_download", "semiannual_internal_audit",
                                    "annual_audit_submission", "annual_records_disposition", "password_rotation"}
    assert len([k for k in owed if k[0] == "monthly_register_check"]) == 15  # 2026-01 .. 2027-03
    assert [k for k, s in owed.items() if s["status"] != "done"] == []
    assert [k for k, s in owed.items() if s["late"]] == [("quarterly_log_download", "2026-Q2")]
    with db.sessions() as session:
        assert session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.status.not_in([InstanceStatus.COMPLETED]))) is None  # every instance finished
    _assert_uploads_imported(db, year)
    _assert_findings_explained_and_accepted(db, year)
    _assert_every_account_rotated(db, owed)
    _assert_packages_verify(db, statuses, year)
    _assert_submission_links_both_packages(db, statuses)
    done = [name for _, name in year.completed]
    assert done.count("collect_register") == done.count("confirm_counts") == done.count("receive_monthly_report") \
        == 15
    assert done.count("internal_audit_form_4") == done.count("head_sign_off") == 2
    assert done.count("acknowledge_submission") == 1 and done.count("head_follow_up") == 1
    assert done.count("run_records_destruction") == done.count("approve_destruction_list") == 1
    if db.engine.dialect.name == "sqlite":  # the budget the issue sets (PostgreSQL: about 30 s here)
        assert time.monotonic() - began < 60


def _assert_uploads_imported(db, year: SimulatedYear) -> None:
    """Each quarter's export went into its download (2026-Q2 late, after 2026-07's check); a month's export went
    into its check only when no log covered the month yet: never the last month of a quarter, whose check finds
    the quarter's log downloaded first, except 2026-06 (its quarter's download was skipped). Each was taken at
    the first try, and together they hold every query dsw.user made (R8.1.1, R8.1.2)."""
    assert year.uploads == ["2026-01", "2026-02", "2026-Q1", "2026-04", "2026-05", "2026-06", "2026-07", "2026-Q2",
                            "2026-08", "2026-Q3", "2026-10", "2026-11", "2026-Q4", "2027-01", "2027-02", "2027-Q1"]
    with db.sessions() as session:
        imported = list(session.scalars(select(ImportedFile.filename).where(ImportedFile.kind == "query_log")
                                        .order_by(ImportedFile.id)))
        assert imported == [f"webir-{label}.csv" for label in year.uploads]
        assert session.scalar(select(func.count()).select_from(QueryLogRecord)) == len(year.queries) == 45


def _assert_findings_explained_and_accepted(db, year: SimulatedYear) -> None:
    """The forgotten query of each quarter's first month: found by the month's check, explained by dsw.user,
    accepted by the unit admin; the quarter's review carries that explanation (nobody is asked twice)."""
    done = [name for _, name in year.completed]
    assert done.count("explain_findings") == done.count("review_explanation") == 5  # 2026-01/04/07/10, 2027-01
    assert done.count("review_explanations") == done.count("review_anomalies") == 5
    with db.sessions() as session:
        findings = session.execute(select(ReconciliationFinding.finding_type, ReconciliationFinding.review_decision,
                                          ReconciliationFinding.explained_by)).all()
        explainers = set(session.scalars(select(User.username).join(HumanTask, HumanTask.completed_by_id == User.id)
                                         .where(HumanTask.name == "explain_findings")))
    assert len(findings) == 10  # each forgotten query in its month's run and in its quarter's run
    assert {tuple(f) for f in findings} == {("logged_not_registered", "accepted", QUERIER)}
    assert explainers == {QUERIER}


def _assert_every_account_rotated(db, owed) -> None:
    """Every 90 days from approval, every admin and WebIR user of DSW acknowledged their own change in time
    (none escalated: an overdue acknowledgement's follow-up has no scripted answer) (R5.6)."""
    periods = sorted(k[1] for k in owed if k[0] == "password_rotation")
    assert periods == ["2026-04-01", "2026-06-30", "2026-09-28", "2026-12-27", "2027-03-27"]
    with db.sessions() as session:
        usernames = dict(session.execute(select(User.id, User.username)).all())
        for label in periods:
            tasks = list(session.scalars(select(HumanTask).where(
                HumanTask.instance_id == owed[("password_rotation", label)]["instance_id"])))
            accounts = [task_details(session, t)["data"]["account"] for t in tasks]  # the account each task is for
            assert {t.name for t in tasks} == {"acknowledge_password_change"}, label
            assert all(t.assignee_id == t.completed_by_id for t in tasks), label
            assert [usernames[t.completed_by_id] for t in tasks] == accounts, label
            assert len(set(accounts)) == len(accounts), label
            assert {"dsw.admin", QUERIER} <= set(accounts)


def _assert_skipped_download_is_late_and_escalated(db) -> None:
    row = _statuses(db)[("quarterly_log_download", "2026-Q2")]
    assert (row["status"], row["late"]) == ("late", True)
    with db.sessions() as session:
        period = session.scalar(select(ObligationPeriod).where(ObligationPeriod.label == "2026-Q2"))
        assert period.escalated_at is not None
        escalation = list(session.scalars(select(HumanTask).where(
            HumanTask.instance_id == period.escalation_instance_id)))
    # Nobody followed up within the working days allowed: it went up to the agency head.
    assert {(t.name, t.role, t.status) for t in escalation} >= {("head_follow_up", "agency_head", TaskStatus.READY)}


def _assert_packages_verify(db, statuses, year: SimulatedYear) -> None:
    """Each half's package verifies and holds, byte for byte, the log files uploaded for its months: the monthly
    exports and the on-time quarterly downloads (2026-Q2, late, came after the H1 package was sealed; it adds no
    record the monthly exports had not brought in)."""
    halves = {"2026-H1": ["2026-01", "2026-02", "2026-Q1", "2026-04", "2026-05", "2026-06"],
              "2026-H2": ["2026-07", "2026-08", "2026-Q3", "2026-10", "2026-11", "2026-Q4"]}
    with db.sessions() as session:
        for half, labels in halves.items():
            package = package_of(session, statuses[("semiannual_internal_audit", half)]["instance_id"])
            check = verify_package(instance_path(), package)
            assert check.ok, (half, check.problems)
            logs = {f["path"].split("-", 1)[1]: f["sha256"] for f in check.manifest["files"]
                    if f["path"].startswith("query_logs/")}
            assert logs == {f"webir-{label}.csv": year.sent[label] for label in labels}, half
            paths = {f["path"] for f in check.manifest["files"]}
            assert {"checklist_form_4.json", "sign_off.json", "register/register_entries.csv",
                    "reconciliation/runs.json", "reconciliation/findings.csv"} <= paths
            assert package.retention_class == "audit_record" and package.retain_until >= add_months(
                dt.date.fromisoformat(statuses[("semiannual_internal_audit", half)]["opens_at"][:10]), 36)
        assert session.scalar(select(EvidenceFile.id).where(EvidenceFile.destroyed_at.is_not(None))) is None


def _assert_submission_links_both_packages(db, statuses) -> None:
    with db.sessions() as session:
        instance_id = statuses[("annual_audit_submission", "2026")]["instance_id"]
        tasks = {t.name: t for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id))}
        details = task_details(session, tasks["acknowledge_submission"])
    linked = [a["evidence_id"] for a in details["data"]["submission"]["audits"]]
    assert all(linked) and len(linked) == 2 and details["data"]["submission"]["late"] is False
    assert all(f"#{i}" in details["instructions"] for i in linked)
