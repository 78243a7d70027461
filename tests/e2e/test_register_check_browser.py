"""A real Chromium: the agency admin uploads the quarter's query log into its task (R8.1.1), and a WebIR user
records a query on the register page and repeats it in two clicks (Form 2, R6.1)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from test_inbox_browser import browser, live_server, log_in, log_out, page  # noqa: F401  (fixtures)

from engine import runtime
from engine.models import EvidenceFile, HumanTask, TaskStatus, User
from workflows.models_records import RegisterEntry

pytestmark = pytest.mark.e2e
LOG = "查詢時間,查詢者帳號,被查詢人身分證號,查詢項目,案件編號\n2026-10-05 10:00:00,dsw.user,A1,投保,C1\n"
QUARTER = {"obligation": "quarterly_log_download", "period": "2026-Q4", "opens_at": "2027-01-01T00:00:00+08:00",
           "due_at": "2027-01-31T23:59:59+08:00", "clauses": ["R8.1.1"]}


def test_r8_1_1_upload_into_the_task_then_r6_1_register_a_query_twice(live_server, page, tmp_path):  # noqa: F811
    db = live_server.database
    with db.sessions() as session:
        master = session.scalar(select(User.id).where(User.username == "dol.admin"))
    iid = runtime.start_instance(db, "quarterly_log_review", master, agency_code="DSW", data=QUARTER)
    with db.sessions() as session:
        task_id = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                            HumanTask.status == TaskStatus.READY))
    (tmp_path / "webir-2026Q4.csv").write_text(LOG, encoding="utf-8")
    log_in(page, live_server, "dsw.admin")
    page.goto(f"{live_server}/tasks/{task_id}")
    page.fill("#field-downloaded_on", "2027-01-03")
    page.set_input_files("#field-query_log_file", str(tmp_path / "webir-2026Q4.csv"))
    page.click("section.task-form form button[type=submit]")
    expect(page.locator("body")).to_contain_text("已送出")
    with db.sessions() as session:
        assert session.scalar(select(EvidenceFile.filename)) == "webir-2026Q4.csv"
    log_out(page)

    log_in(page, live_server, "dsw.user")
    page.goto(f"{live_server}/register")
    page.fill("#register-case_number", "C-115-001")
    page.fill("#register-purpose", "低收入戶資格審查")
    page.click("form[action$='/register'] button[type=submit]")
    expect(page.locator("table.data")).to_contain_text("C-115-001")
    expect(page.locator("#register-case_number")).to_have_value("C-115-001")  # prefilled: the repeat
    page.wait_for_timeout(1100)  # the prefilled time is to the second; a repeat in the same second is a duplicate
    page.reload()
    page.click("form[action$='/register'] button[type=submit]")
    expect(page.locator("table.data tbody tr")).to_have_count(2)
    with db.sessions() as session:
        assert len(list(session.scalars(select(RegisterEntry)))) == 2
