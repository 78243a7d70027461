"""Per-record reconciliation (R3.3, R3.4, R6.3, R6.6, R8.1.2): a generated month with planted anomalies."""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select, update

from engine.bundle import ModelFile
from engine.models import Agency, ProcessInstance, ProcessVersion, RoleAssignment, User
from workflows import bundled, demo, org
from workflows.models import AccountApplication
from workflows.models_records import AgencyOfficeHours, QueryLogRecord, ReconciliationFinding, RegisterEntry
from workflows.query_log import import_query_log
from workflows.reconcile import FINDING_TYPES, parse_period, reconcile
from workflows.register import import_register, record_entry

TPE = dt.timezone(dt.timedelta(hours=8))
LONG_AGO = dt.datetime(2024, 1, 1, tzinfo=TPE)
LOG_HEADER = ["查詢時間", "查詢者帳號", "查詢者姓名", "被查詢人身分證號", "查詢項目", "案件編號", "來源IP"]
REGISTER_HEADER = ["案件編號", "查詢人員", "查詢日期", "查詢目的", "被查詢人身分證號"]


STUB = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="records_stub" isExecutable="true"><bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end"/></bpmn:process></bpmn:definitions>"""


@pytest.fixture
def org_db(db):
    """The demo organisation and a stub process for filed Form 1-2 rows (these tests run no account process)."""
    with db.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
        bundled.deploy_files(session, [ModelFile("records_stub.bpmn", STUB.encode())], "test", "records tests")
    return db


def grant_form_1_2(session, username: str, egov_account: str, business_items: list[str]) -> None:
    """A granted Form 1-2 on file with the `user` role, as user_account_application leaves them (R5.3)."""
    user = session.scalar(select(User).where(User.username == username))
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == "records_stub"))
    instance = ProcessInstance(process_id="records_stub", process_version_id=version.id,
                               version=version.deployment_id, agency_id=user.agency_id, started_by_id=user.id)
    session.add(instance)
    session.flush()
    session.add(AccountApplication(instance_id=instance.id, user_id=user.id, agency_id=user.agency_id,
                                   egov_account=egov_account, business_items=business_items, outcome="granted",
                                   decided_at=LONG_AGO))
    session.add(RoleAssignment(user_id=user.id, agency_id=user.agency_id, role="user", granted_at=LONG_AGO))


@dataclass
class Month:
    """A generated month: file rows, and what reconciliation must find, keyed by (account, time) / case."""

    logs: list[dict] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    expected_logs: dict[tuple, set[str]] = field(default_factory=dict)  # (account, when) -> finding types
    expected_entries: set[str] = field(default_factory=set)  # case numbers left unmatched
    counter: int = 0

    def query(self, account, when, register_as=None, expect=(), item="social_assistance", shift=0,
              date_only=False, case=None):
        """A logged query (and, unless register_as is False, its register entry by `register_as` or `account`)."""
        self.counter += 1
        case = case or f"C{self.counter:05d}"
        subject = f"A{100000000 + self.counter}"
        self.logs.append({"when": when, "account": account, "subject": subject, "item": item, "case": case})
        if register_as is not False:
            self.entry(case, register_as or account, when + dt.timedelta(minutes=shift), subject, date_only)
        self.expected_logs[(account, when)] = set(expect)
        return case, subject

    def entry(self, case, querier, when, subject, date_only=False):
        self.entries.append({"case": case, "querier": querier, "when": when, "subject": subject,
                             "date_only": date_only})


def _time_text(when: dt.datetime, style: int) -> str:
    """The three time formats of INTERFACES.md: ISO, YYYY/MM/DD HH:MM:SS, ROC year."""
    if style == 0:
        return when.isoformat()
    if style == 1:
        return when.strftime("%Y/%m/%d %H:%M:%S")
    return f"{when.year - 1911}/{when:%m/%d %H:%M:%S}"


def _working_days_of_june():
    return [dt.date(2024, 6, d) for d in range(1, 31)
            if dt.date(2024, 6, d).weekday() < 5 and d != 10]  # 10 June 2024: Dragon Boat Festival


def _normal_month(month: Month, rng: random.Random, users: list[str]) -> None:
    days = _working_days_of_june()
    for n in range(150):
        day = days[n % len(days)]
        when = dt.datetime.combine(day, dt.time(8, 30), TPE) + dt.timedelta(minutes=rng.randrange(0, 540))
        account = users[n % len(users)]
        register_as = "dsw.staff" if account == "tsai.egov" else account  # username and 我的E政府 id are one user
        month.query(account, when, register_as, shift=rng.randrange(-180, 180), date_only=n % 5 == 0)


def _planted(month: Month) -> None:
    d = dt.datetime
    month.query("amy", d(2024, 6, 3, 9, 0, tzinfo=TPE), register_as=False, expect={"logged_not_registered"})
    month.query("amy", d(2024, 6, 4, 9, 0, tzinfo=TPE), register_as=False, expect={"logged_not_registered"})
    month.query("dsw.user", d(2024, 6, 12, 11, 0, tzinfo=TPE), register_as=False, expect={"logged_not_registered"})
    month.query("amy", d(2024, 6, 13, 10, 0, tzinfo=TPE), register_as="dsw.user", expect={"querier_mismatch"})
    month.query("amy", d(2024, 6, 14, 15, 0, tzinfo=TPE), register_as="ben", expect={"querier_mismatch"})
    month.query("amy", d(2024, 6, 5, 20, 30, tzinfo=TPE), expect={"matched", "off_hours"})
    month.query("amy", d(2024, 6, 8, 10, 0, tzinfo=TPE), expect={"matched", "off_hours"})  # Saturday
    month.query("amy", d(2024, 6, 10, 10, 0, tzinfo=TPE), expect={"matched", "off_hours"})  # Dragon Boat
    month.query("amy", d(2024, 6, 11, 7, 59, 59, tzinfo=TPE), expect={"matched", "off_hours"})
    month.query("amy", d(2024, 6, 11, 18, 0, tzinfo=TPE), expect={"matched", "off_hours"})
    month.query("amy", d(2024, 6, 11, 8, 0, tzinfo=TPE), expect={"matched"})
    month.query("amy", d(2024, 6, 22, 10, 0, tzinfo=TPE), expect={"matched"})  # make-up working Saturday
    month.query("ghost", d(2024, 6, 18, 10, 0, tzinfo=TPE), expect={"matched", "unauthorized_account"})
    month.query("ben", d(2024, 6, 20, 10, 0, tzinfo=TPE), expect={"matched", "unauthorized_account"})  # revoked
    month.query("tsai.egov", d(2024, 6, 19, 14, 0, tzinfo=TPE), register_as="dsw.staff", item="labor_inspection",
                expect={"matched", "outside_business_scope"})
    for n, day in enumerate((17, 24)):
        month.entry(f"R{n}", "dsw.user", d(2024, 6, day, 10, 0, tzinfo=TPE), f"B{200000000 + n}")
        month.expected_entries.add(f"R{n}")
    # Across the month's edge: a May query registered just after midnight is matched, in neither count.
    month.query("amy", d(2024, 5, 31, 23, 30, tzinfo=TPE), shift=40)
    del month.expected_logs[("amy", d(2024, 5, 31, 23, 30, tzinfo=TPE))]


def _write(path, header, rows):
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)


def _write_month(month: Month, tmp_path):
    logs = [[_time_text(r["when"], i % 3), r["account"], "", r["subject"], r["item"], r["case"], "10.0.0.1"]
            for i, r in enumerate(month.logs)]
    logs.append(logs[7])  # a duplicate row counts once
    entries = [[e["case"], e["querier"], f"{e['when'].year - 1911}/{e['when']:%m/%d}" if e["date_only"]
                else _time_text(e["when"], i % 3), "查核資格", e["subject"]] for i, e in enumerate(month.entries)]
    _write(tmp_path / "log.csv", LOG_HEADER, logs)
    _write(tmp_path / "register.csv", REGISTER_HEADER, entries)


def _authorise(db, users) -> None:
    """amy and ben hold `user` since January (ben revoked 15 June); dsw.staff holds it as tsai.egov (R5.3)."""
    with db.transaction() as session:
        for name in ("amy", "ben"):
            org.create_user(session, name, "DSW", "long-password", roles=["user"])
        grant_form_1_2(session, "dsw.staff", "tsai.egov", ["social_assistance"])
    with db.transaction() as session:
        session.execute(update(RoleAssignment).values(granted_at=LONG_AGO))
        ben = session.scalar(select(User.id).where(User.username == "ben"))
        session.execute(update(RoleAssignment).where(RoleAssignment.user_id == ben)
                        .values(revoked_at=dt.datetime(2024, 6, 15, tzinfo=TPE)))
        dsw = session.scalar(select(Agency).where(Agency.code == "DSW"))
        session.add(AgencyOfficeHours(agency_id=dsw.id, make_up_working_days=["2024-06-22"]))


@pytest.fixture
def planted(org_db, users, tmp_path):
    """A June 2024 of agency DSW imported from files, with every class and flag planted."""
    _authorise(org_db, users)
    month = Month()
    _normal_month(month, random.Random(5), ["dsw.user", "amy", "tsai.egov"])
    _planted(month)
    _write_month(month, tmp_path)
    logged = import_query_log(org_db, tmp_path / "log.csv", "DSW", tmp_path / "evidence")
    registered = import_register(org_db, tmp_path / "register.csv", "DSW", tmp_path / "evidence")
    assert logged.rejected == [] and registered.rejected == [] and logged.duplicates == 1
    return month


def _findings(db, run_id):
    with db.sessions() as session:
        logs = {r.id: (r.account, r.queried_at) for r in session.scalars(select(QueryLogRecord))}
        cases = {e.id: e.case_number for e in session.scalars(select(RegisterEntry))}
        found = session.execute(select(ReconciliationFinding.finding_type, ReconciliationFinding.log_record_id,
                                       ReconciliationFinding.register_entry_id)
                                .where(ReconciliationFinding.run_id == run_id)).all()
    by_log: dict[tuple, set[str]] = {}
    unmatched = set()
    for kind, log_id, entry_id in found:
        if log_id is None:
            unmatched.add(cases[entry_id])
        else:
            by_log.setdefault(logs[log_id], set()).add(kind)
    return by_log, unmatched


def _expected_findings(month: Month) -> dict[tuple, set[str]]:
    return {key: kinds - {"matched"} for key, kinds in month.expected_logs.items() if kinds - {"matched"}}


@pytest.mark.clause("R3.4", "R6.6")
def test_r3_4_planted_month_reports_exactly_the_planted_findings(org_db, planted):
    with org_db.transaction() as session:
        result = reconcile(session, session.scalar(select(Agency).where(Agency.code == "DSW")), "2024-06")
    by_log, unmatched = _findings(org_db, result.run_id)
    assert {(a, w.astimezone(TPE)): k for (a, w), k in by_log.items()} == _expected_findings(planted)
    assert unmatched == planted.expected_entries
    anomalies = sum(1 for k in planted.expected_logs.values() if k & {"logged_not_registered", "querier_mismatch"})
    assert result.counts["matched"] == len(planted.expected_logs) - anomalies
    assert result.counts == {**result.counts, "logged_not_registered": 3, "querier_mismatch": 2,
                             "registered_not_logged": 2, "off_hours": 5, "unauthorized_account": 2,
                             "outside_business_scope": 1}


@pytest.mark.clause("R3.3")
def test_r3_3_count_comparison_totals_the_month(org_db, planted):
    with org_db.transaction() as session:
        result = reconcile(session, session.scalar(select(Agency).where(Agency.code == "DSW")), "2024-06")
    assert result.log_records == len(planted.expected_logs)
    assert result.register_entries == len(planted.entries)  # all dated in June, the edge entry too
    c = result.counts
    assert c["matched"] + c["logged_not_registered"] + c["querier_mismatch"] == result.log_records
    assert "R3.3" in result.summary_line() and f"{result.register_entries}" in result.summary_line()
    assert set(c) == set(FINDING_TYPES)


def _dsw(session) -> Agency:
    return session.scalar(select(Agency).where(Agency.code == "DSW"))


def _small(db, tmp_path, logs, entries):
    """Import a few log rows (time, account, subject, item, case) and entries (case, querier, date, subject)."""
    _write(tmp_path / "l.csv", ["query_time", "account", "subject_id", "query_item", "case_number"], logs)
    _write(tmp_path / "r.csv", ["case_number", "querier", "query_date", "purpose", "subject_id"],
           [[c, q, d, "查核", s] for c, q, d, s in entries])
    import_query_log(db, tmp_path / "l.csv", "DSW", tmp_path / "ev")
    import_register(db, tmp_path / "r.csv", "DSW", tmp_path / "ev")


def _counts(db, period="2024-06", **kwargs):
    with db.transaction() as session:
        return reconcile(session, _dsw(session), period, **kwargs).counts


def _nonzero(counts):
    return {k: v for k, v in counts.items() if v}


@pytest.mark.clause("R6.3")
def test_r6_3_off_hours_query_is_flagged(org_db, users, tmp_path):
    _authorise(org_db, users)
    _small(org_db, tmp_path, [["2024-06-05 21:00:00", "amy", "A1", "x", "C1"], ["2024-06-05 10:00:00", "amy", "A2",
                                                                               "x", "C2"]],
           [["C1", "amy", "2024-06-05 21:00:00", "A1"], ["C2", "amy", "2024-06-05", "A2"]])
    assert _nonzero(_counts(org_db)) == {"matched": 2, "off_hours": 1}


def test_tolerance_is_configurable(org_db, users, tmp_path):
    _authorise(org_db, users)
    _small(org_db, tmp_path, [["2024-06-05 10:00:00", "amy", "A1", "x", "C1"]],
           [["C1", "amy", "2024-06-07 09:00:00", "A1"]])
    assert _nonzero(_counts(org_db)) == {"logged_not_registered": 1, "registered_not_logged": 1}
    assert _nonzero(_counts(org_db, tolerance=dt.timedelta(days=2))) == {"matched": 1}


@pytest.mark.clause("R3.4", "R6.6")
def test_r3_4_pairing_is_one_to_one_and_prefers_the_querier_own_entry(org_db, users, tmp_path):
    _authorise(org_db, users)
    _small(org_db, tmp_path,
           [["2024-06-05 10:00:00", "amy", "A1", "x", "C1"], ["2024-06-05 10:05:00", "amy", "A1", "y", "C1"],
            ["2024-06-06 10:00:00", "amy", "A2", "x", "C2"]],
           [["C1", "amy", "2024-06-05 10:04:00", "A1"],
            ["C2", "dsw.user", "2024-06-06 10:00:00", "A2"], ["C2", "amy", "2024-06-06 15:00:00", "A2"]])
    assert _nonzero(_counts(org_db)) == {"matched": 2, "logged_not_registered": 1, "registered_not_logged": 1}


def test_log_without_case_number_pairs_by_subject_and_blank_register_subject_by_case(org_db, users, tmp_path):
    _authorise(org_db, users)
    _small(org_db, tmp_path, [["2024-06-05 10:00:00", "amy", "A1", "x", ""], ["2024-06-05 11:00:00", "amy", "A2",
                                                                             "x", "C2"]],
           [["C9", "amy", "2024-06-05 10:00:00", "A1"], ["C2", "amy", "2024-06-05 11:00:00", ""]])
    assert _nonzero(_counts(org_db)) == {"matched": 2}


@pytest.mark.clause("R6.1")
def test_r6_1_correction_replaces_the_entry_and_withdrawal_cancels_it(org_db, users, tmp_path):
    _authorise(org_db, users)
    _small(org_db, tmp_path, [["2024-06-05 10:00:00", "amy", "A1", "x", "C1"]],
           [["C-typo", "amy", "2024-06-05 10:00:00", "A1"], ["C7", "amy", "2024-06-07 10:00:00", "A7"]])
    assert _nonzero(_counts(org_db)) == {"logged_not_registered": 1, "registered_not_logged": 2}
    with org_db.transaction() as session:
        amy = session.scalar(select(User).where(User.username == "amy"))
        typo, c7 = session.scalars(select(RegisterEntry.id).order_by(RegisterEntry.id)).all()
        fixed = record_entry(session, _dsw(session), amy, {"case_number": "C1", "query_time": "2024-06-05T10:00:00",
                                                           "purpose": "查核", "subject_id": "A1"}, corrects=typo)
        record_entry(session, _dsw(session), amy, {"purpose": "誤登 registered by mistake"}, corrects=c7,
                     withdraw=True)
        assert fixed.corrects_id == typo
    assert _nonzero(_counts(org_db)) == {"matched": 1}


def test_unknown_period_is_refused():
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_period("2024-13")
    assert parse_period("2024-Q2").label == "2024-Q2"


SERVICE = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
 xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d2" targetNamespace="t">
  <bpmn:process id="reconcile_stub" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="reconcile"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="reconcile_records" resultVariable="reconciliation">
        <spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator>
    </bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="reconcile"/>
    <bpmn:sequenceFlow id="f2" sourceRef="reconcile" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.clause("R8.1.2")
def test_r8_1_2_reconciliation_runs_as_a_service_task_inside_a_process(org_db, users, tmp_path):
    from engine import runtime
    from engine.models import ProcessInstance
    from workflows.models_records import ReconciliationRun

    _authorise(org_db, users)
    _small(org_db, tmp_path, [["2024-06-05 10:00:00", "amy", "A1", "x", "C1"]], [])
    with org_db.transaction() as session:
        bundled.deploy_files(session, [ModelFile("reconcile_stub.bpmn", SERVICE.encode())], "test", "stub")
    iid = runtime.start_instance(org_db, "reconcile_stub", users["dsw.admin"], data={"period": "2024-06"})
    with org_db.sessions() as session:
        assert session.get(ProcessInstance, iid).status == "completed"
        run = session.scalar(select(ReconciliationRun))
    assert (run.period, run.run_by, run.counts["logged_not_registered"]) == ("2024-06", "dsw.admin", 1)


def test_an_empty_month_reports_every_finding_type_as_zero(org_db):
    with org_db.transaction() as session:
        result = reconcile(session, _dsw(session), "2024-07")
    assert result.counts == dict.fromkeys(FINDING_TYPES, 0)
    assert (result.log_records, result.register_entries) == (0, 0) and "+0" in result.summary_line()
