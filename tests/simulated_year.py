"""The scripted users of a simulated year (issue 6), shared by tests/workflows/test_simulated_year.py, which
asserts what the year produced, and `python -m bench state-size`, which measures the instance state it leaves.

DSW, approved on 2026-01-01, lives from 2026-01-01 to 2027-04-02 on the simulated clock: the clock moves on
twice a month (`timekeeping.advance_to`, which opens periods, fires timers and escalates exactly as the
scheduler would), and after each move the scripted users complete every ready task with the answers of the
ANSWERS table. dsw.user queries WebIR three times a month and records each query in the register (Form 2) by
the middle of the month, except one query in the first month of each quarter, which is forgotten: the month's
check finds it, dsw.user explains it and the unit admin accepts the explanation (R6.1). The agency admin
uploads real WebIR exports (generated CSV files of the period's queries) into the tasks: the quarter's log into
each quarterly download (R8.1.1), first thing when the quarter ends, and a month's log into a monthly check
that finds no log covering its month yet (R8.1.2). The 2026-Q2 download is skipped until the head has been
escalated to, then done late.

ANSWERS maps a task NAME (its BPMN element id) to the form data to submit, or to a function
`(year, task, data) -> dict` of the task's current data (pre-filled values included); a file field's value is an
`Upload`, passed to `runtime.complete_task` as the file. A ready task whose name is not in the table fails the
test with its name, process and lane: when a process gains or renames a task, add its id and answers below.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select, update

from engine import clock, runtime, timekeeping
from engine.calendar import add_months, is_working_day
from engine.inspect import task_details
from engine.models import (
    Agency,
    HumanTask,
    ObligationPeriod,
    ProcessInstance,
    RoleAssignment,
    TaskStatus,
    User,
)
from engine.task_files import Upload
from workflows.register import record_entry

TPE = dt.timezone(dt.timedelta(hours=8))
START, END = dt.datetime(2026, 1, 1, tzinfo=TPE), dt.datetime(2027, 4, 2, 10, tzinfo=TPE)
SKIPPED = ("quarterly_log_review", "2026-Q2")  # the download nobody does in time
SKIP_UNTIL = dt.datetime(2026, 8, 10, 10, tzinfo=TPE)  # past due (31 July) and past the head's escalation
ACTORS = {"unit_admin": "dsw.unit", "agency_admin": "dsw.admin", "agency_audit": "dsw.audit",
          "agency_head": "dsw.head", "master_admin": "dol.admin", "user": "dsw.user"}
QUERIER = "dsw.user"
QUERIES_PER_MONTH = 3
FORGOTTEN_MONTHS = (1, 4, 7, 10)  # the first query of these months is never registered (a finding, R6.1)
FIRST = ("download_query_log",)  # the agency admin downloads the quarter's log before the month's check runs
LAST = ("submit_audit_documents",)  # tasks the scripted users do after everything else that is ready


@dataclass(frozen=True)
class Query:
    """One WebIR query of dsw.user and whether dsw.user registered it."""

    at: dt.datetime  # Asia/Taipei wall time
    case: str
    subject: str
    registered: bool

    def log_line(self) -> str:
        return f"{self.at.isoformat(sep=' ')},{QUERIER},{self.subject},投保資料,{self.case}"


def _queries() -> list[Query]:
    """Three queries a month on working days from the 10th, January 2026 to March 2027."""
    found, month = [], START.date()
    while month < END.date().replace(day=1):
        day = month.replace(day=10)
        for n in range(QUERIES_PER_MONTH):
            while not is_working_day(day):
                day += dt.timedelta(days=1)
            case, subject = f"C-{month:%Y%m}-{n}", f"A1{month:%m%y}{n:04d}"
            found.append(Query(dt.datetime(day.year, day.month, day.day, 10, 10 + n), case, subject,
                               registered=not (n == 0 and month.month in FORGOTTEN_MONTHS)))
            day += dt.timedelta(days=1)
        month = add_months(month, 1)
    return found


def _in_period(query: Query, label: str) -> bool:
    """`YYYY-MM` or `YYYY-Qn`."""
    if "Q" in label:
        quarter = int(label[-1])
        return query.at.year == int(label[:4]) and 3 * quarter - 2 <= query.at.month <= 3 * quarter
    return f"{query.at:%Y-%m}" == label


def _today() -> str:
    return clock.now().astimezone(TPE).date().isoformat()


def _form_4(year: SimulatedYear, task: HumanTask, data: dict) -> dict:
    """The audit team keeps what the system pre-filled and answers the other items from its own checks."""
    answers = {"audited_on": _today()}
    for name in year.schema_of(task)["properties"]:
        if name.startswith("item_"):
            answers[name] = data.get(name, "compliant")
        elif name.startswith("evidence_"):
            answers[name] = data.get(name, "抽查申請表及紀錄 Sampled the forms and records")
    if "non_compliant" in answers.values():
        answers["findings"] = "預填之不符合項目已列管改善 Pre-filled non-compliant items are tracked for correction"
    return answers


def _upload_log(year: SimulatedYear, task: HumanTask, data: dict) -> dict:
    """The agency admin exports the period from WebIR [查詢紀錄管理] and uploads the file (R8.1.1, R8.1.2)."""
    return {"downloaded_on": _today(), "query_log_file": year.export(str(data["period"]))}


def _confirm_counts(year: SimulatedYear, task: HumanTask, data: dict) -> dict:
    """The unit admin compares the register count with the log count the reconciliation shows (R3.3)."""
    counts = data["reconciliation"]
    if counts["log_records"] == counts["register_entries"]:
        return {"counts_agree": True}
    return {"counts_agree": False, "discrepancy_note": f"登記 {counts['register_entries']} 筆、查詢紀錄 "
            f"{counts['log_records']} 筆，漏登者已請查詢人說明 The querier explains the unregistered query"}


# Task name (BPMN element id) -> answers. Add new or renamed task ids here (see the module docstring).
ANSWERS: dict[str, dict | Callable[[SimulatedYear, HumanTask, dict], dict]] = {
    # monthly_register_check (R3.3, R6.5, R8.1.2)
    "collect_register": {"registers_collected": True, "users_reminded": 0},
    "upload_query_log": _upload_log,
    "confirm_counts": _confirm_counts,
    "review_explanations": {"review_summary": "查詢人說明均已審閱可採 Every explanation reviewed and accepted"},
    "receive_monthly_report": {"acknowledged": True},
    # quarterly_log_review (R8.1.1)
    "download_query_log": _upload_log,
    "review_anomalies": {"conclusion": "漏登已說明，無不當查詢 Unregistered query explained; no improper query",
                         "referred_for_investigation": False},
    # query_explanation (R6.1): the querier explains, the unit admin reviews
    "explain_findings": {"explanation": "辦理低收入戶資格查核時漏未登記 Forgot to register it during an "
                                        "eligibility check"},
    "review_explanation": {"decision": "accepted", "review_comment": "依公務需要查詢 Official business"},
    # semiannual_internal_audit (R8.1.3, R8.1.4, R8.1.5)
    "internal_audit_form_4": _form_4,
    "head_sign_off": {"decision": "approve", "approved": True},
    # annual_audit_submission (R8.1.6)
    "submit_audit_documents": lambda y, t, d: {
        "documents_compiled": True, "audit_count": d.get("audit_count", 2),
        "document_reference": d.get("document_reference") or "—", "sent_on": _today(),
        "official_letter_number": f"北市社資字第{d['period']}0001號"},
    "acknowledge_submission": {"master_decision": "acknowledge"},
    # records_disposition (R7.4)
    "run_records_destruction": {"forms_reviewed": 0, "forms_destroyed": 0, "destroyed_only_after_3_years": True,
                                "audit_records_retained_3_years": True, "personal_data_filed_or_destroyed": True,
                                "destruction_list_reference": "銷毀清冊 Destruction list"},
    "approve_destruction_list": {"decision": "approve"},
    # password_rotation (R5.6): every admin and user acknowledges their own change
    "acknowledge_password_change": lambda y, t, d: {"password_changed": True, "changed_on": _today()},
    # obligation_escalation (late periods)
    "follow_up_overdue": lambda y, t, d: {"action_taken": "已督促補辦 Told to catch up",
                                          "expected_completion": _today()},
    "head_follow_up": {"instruction": "限期完成 Finish within the week"},
}


@dataclass
class SimulatedYear:
    """The scripted users of one agency, and what they did."""

    db: object
    users: dict[str, int]
    queries: list[Query] = field(default_factory=_queries)
    completed: list[tuple[str, str]] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)  # the periods whose WebIR export was uploaded, in order
    sent: dict[str, str] = field(default_factory=dict)  # period -> SHA-256 of the uploaded export
    registered: int = 0
    _schemas: dict = field(default_factory=dict)

    def schema_of(self, task: HumanTask) -> dict:
        if task.form_schema not in self._schemas:
            with self.db.sessions() as session:
                self._schemas[task.form_schema] = task_details(session, task)["form"]["schema"] or {}
        return self._schemas[task.form_schema]

    def register_queries(self) -> None:
        """dsw.user records in the register (Form 2, R6.1) each query made by now, as the register page does."""
        now = clock.now().astimezone(TPE).replace(tzinfo=None)
        due = [q for q in self.queries if q.registered and q.at < now][self.registered:]
        if not due:
            return
        with self.db.transaction() as session:
            agency = session.scalar(select(Agency).where(Agency.code == "DSW"))
            querier = session.scalar(select(User).where(User.username == QUERIER))
            for query in due:
                record_entry(session, agency, querier, {
                    "case_number": query.case, "query_time": query.at.isoformat(), "purpose": "低收入戶資格查核",
                    "subject_id": query.subject, "query_item": "投保資料"})
        self.registered += len(due)

    def export(self, label: str) -> Upload:
        """The WebIR export of a month or quarter: every query dsw.user made in it, registered or not."""
        lines = ["query_time,account,subject_id,query_item,case_number"]
        lines += [q.log_line() for q in self.queries if _in_period(q, label)]
        content = ("\n".join(lines) + "\n").encode("utf-8")
        self.uploads.append(label)
        self.sent[label] = hashlib.sha256(content).hexdigest()
        return Upload(f"webir-{label}.csv", content, "text/csv")

    def answer(self, task: HumanTask) -> dict:
        if task.name not in ANSWERS:
            pytest.fail(f"no scripted answer for task '{task.name}' (process {task.process_id}, lane {task.lane}):"
                        " add its id and answers to ANSWERS in tests/simulated_year.py")
        answer = ANSWERS[task.name]
        if not callable(answer):
            return dict(answer)
        with self.db.sessions() as session:
            data = task_details(session, task)["data"]
        return answer(self, task, data)

    def actor(self, task: HumanTask) -> int:
        if task.assignee_id is not None:
            return task.assignee_id
        if task.role == "applicant":  # e.g. the querier explaining their own findings
            with self.db.sessions() as session:
                return session.get(ProcessInstance, task.instance_id).started_by_id
        if task.role not in ACTORS:
            pytest.fail(f"task '{task.name}' is in lane '{task.lane}' (role {task.role}): no scripted user holds it")
        return self.users[ACTORS[task.role]]

    def work(self, skip: Callable[[HumanTask], bool] = lambda task: False) -> int:
        """Complete every ready task of the agency (oldest first) until none is left but the skipped ones."""
        self.register_queries()
        done = 0
        for _ in range(500):
            with self.db.sessions() as session:
                ready = [t for t in session.scalars(select(HumanTask).where(HumanTask.status == TaskStatus.READY)
                                                    .order_by(HumanTask.id)) if not skip(t)]
            if not ready:
                return done
            # The quarter's log is downloaded first; the audit team assembles the year only once no half-year
            # audit of it is still being worked on.
            task = min(ready, key=lambda t: (0 if t.name in FIRST else 2 if t.name in LAST else 1, t.id))
            answer = self.answer(task)
            files = {name: value for name, value in answer.items() if isinstance(value, Upload)}
            data = {name: value for name, value in answer.items() if name not in files}
            try:
                runtime.complete_task(self.db, task.id, self.actor(task), data, files)
            except runtime.FormInvalid as exc:
                pytest.fail(f"scripted answer for '{task.name}' ({task.process_id}) was refused: {exc.fields}")
            self.completed.append((task.process_id, task.name))
            done += 1
        pytest.fail("the scripted users found no end of work: a task keeps coming back")


def _label_of(db, instance_id: int) -> tuple[str, str] | None:
    with db.sessions() as session:
        row = session.scalar(select(ObligationPeriod).where(ObligationPeriod.instance_id == instance_id))
        if row is not None:
            return row.obligation_id, row.label
        late = session.scalar(select(ObligationPeriod).where(ObligationPeriod.escalation_instance_id == instance_id))
        return ("escalation", late.label) if late is not None and late.obligation_id == "quarterly_log_download" \
            else None


def _skipper(db):
    """Skip the 2026-Q2 download and its escalation's follow-up (so the escalation reaches the head)."""
    def skip(task: HumanTask) -> bool:
        if task.process_id == SKIPPED[0]:
            return _label_of(db, task.instance_id) == ("quarterly_log_download", SKIPPED[1])
        return task.name == "follow_up_overdue" and _label_of(db, task.instance_id) == ("escalation", SKIPPED[1])
    return skip


def _moments() -> list[dt.datetime]:
    """Twice a month, at 10:00 on the 1st and the 16th, from January 2026 to the end."""
    found, month = [], START.date()
    while True:
        for day in (1, 16):
            moment = dt.datetime(month.year, month.month, day, 10, tzinfo=TPE)
            if moment > END:
                return found + [END]
            found.append(moment)
        month = add_months(month, 1)


def only_this_agency(db) -> None:
    """DSW alone owes the obligations (the other agencies unapproved); roles held since before the year."""
    with db.transaction() as session:
        session.execute(update(Agency).where(Agency.code != "DSW").values(approved_on=None))
        session.execute(update(RoleAssignment).values(granted_at=dt.datetime(2025, 12, 1, tzinfo=TPE)))


def live_the_year(db, year: SimulatedYear, when_skip_ends: Callable[[], None] = lambda: None,
                  after_work: Callable[[dt.datetime], None] = lambda moment: None) -> None:
    """Move the clock through the year and work after each move; the 2026-Q2 download is skipped until
    SKIP_UNTIL, and `when_skip_ends` runs at the first move past it, before anyone works; `after_work(moment)`
    after the work of each move."""
    skip = _skipper(db)
    for moment in _moments():
        timekeeping.advance_to(db, moment, actor="test")
        if moment < SKIP_UNTIL:
            year.work(skip)
        else:
            if moment == min(m for m in _moments() if m >= SKIP_UNTIL):
                when_skip_ends()
            year.work()
        after_work(moment)
