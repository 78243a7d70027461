"""In Chromium: saved inbox filters and priority sorting, a form's list of rows with the "add a row" button,
saving a draft (the button skips the browser's required-field checks) and finding it restored, and the
dashboard's on-time chart drawn under the strict CSP."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from conftest import FORM_1_2
from playwright.sync_api import expect
from sqlalchemy import select
from test_inbox_browser import browser, fill_form_1_2, live_server, log_in, log_out, page, shot, simulated  # noqa: F401

from engine import runtime, timekeeping
from engine.bundle import ModelFile
from engine.models import HumanTask, TaskDraft, User
from workflows import bundled

pytestmark = pytest.mark.e2e
BPMN = Path(__file__).resolve().parents[2] / "bpmn"
ROWS = {"type": "array", "title": "曾用帳號 Previous accounts", "items": {
    "type": "object", "required": ["account"], "properties": {
        "account": {"type": "string", "title": "帳號 Account"},
        "queries": {"type": "integer", "title": "查詢次數 Queries", "minimum": 0}}}}


def _user_id(database, username: str) -> int:
    with database.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def _start_application(database) -> None:
    staff = _user_id(database, "dsw.staff")
    iid = runtime.start_instance(database, "user_account_application", staff)
    with database.sessions() as session:
        task_id = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid))
    runtime.complete_task(database, task_id, staff, FORM_1_2)


def test_save_a_filter_and_reopen_it_from_the_inbox(live_server, page):  # noqa: F811
    _start_application(live_server.database)
    _start_application(live_server.database)
    log_in(page, live_server, "dsw.unit")
    page.select_option("#sort", "priority")
    page.select_option("#filter-priority", "normal")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"priority=normal"))
    page.fill("#filter-name", "一般優先 Normal first")
    page.click("form.save-filter button[type=submit]")
    expect(page.locator(".flashes")).to_contain_text("已保存篩選條件 Filter saved")
    page.goto(f"{live_server}/")
    expect(page.locator("table.tasks .priority").first).to_be_visible()
    page.click(".saved-filter a:has-text('一般優先 Normal first')")
    expect(page).to_have_url(re.compile(r"sort=priority"))
    expect(page.locator("#filter-priority")).to_have_value("normal")
    shot(page, "inbox-saved-filter")


def test_rows_add_row_and_draft_restored_then_submitted(live_server, page):  # noqa: F811
    schema = json.loads((BPMN / "forms" / "form_1_2.schema.json").read_text(encoding="utf-8"))
    schema["properties"]["previous_accounts"] = ROWS
    with live_server.database.transaction() as session:
        bundled.deploy_files(session, [
            ModelFile("user_account_application.bpmn", (BPMN / "user_account_application.bpmn").read_bytes()),
            ModelFile("forms/form_1_2.schema.json", json.dumps(schema, ensure_ascii=False).encode())], "e2e", "e2e")
    log_in(page, live_server, "dsw.staff")
    page.click("button[data-process=user_account_application]")
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    task_url = page.url
    expect(page.locator("table.form-rows tbody tr")).to_have_count(2)
    page.fill("#field-unit", "草稿單位 Draft unit")
    page.fill("[name='previous_accounts[0][account]']", "tsai.old")
    page.click("button.add-row")
    page.click("button.add-row")
    expect(page.locator("table.form-rows tbody tr")).to_have_count(4)
    page.fill("[name='previous_accounts[3][account]']", "tsai.older")
    page.fill("[name='previous_accounts[3][queries]']", "7")
    page.click("button:has-text('儲存草稿')")  # required fields are empty: a draft is saved anyway
    expect(page.locator(".draft-notice")).to_contain_text("草稿")
    expect(page).to_have_url(task_url)
    page.reload()
    expect(page.locator("#field-unit")).to_have_value("草稿單位 Draft unit")
    expect(page.locator("[name='previous_accounts[1][account]']")).to_have_value("tsai.older")
    expect(page.locator("[name='previous_accounts[1][queries]']")).to_have_value("7")
    shot(page, "task-form-rows-draft")
    fill_form_1_2(page)
    page.click(".task-form button[type=submit]:has-text('送出')")
    expect(page).to_have_url(re.compile(r"/instances/\d+$"))
    with live_server.database.sessions() as session:
        assert session.scalars(select(TaskDraft)).all() == []


def test_on_time_chart_draws_under_the_csp(live_server, page, simulated):  # noqa: F811
    timekeeping.advance_to(simulated, dt.datetime(2026, 3, 5, tzinfo=dt.UTC))
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    log_in(page, live_server, "dsw.admin")
    page.goto(f"{live_server}/dashboard?year=2026")
    chart = page.locator("svg.on-time-months")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 50
    february = page.locator('g.month-bar[data-month="2"]')
    assert int(february.get_attribute("data-total")) >= 2 and february.get_attribute("data-on-time") == "0"
    expect(page.locator("#on-time-obligations li.rate-bar").first).to_be_visible()
    expect(page.locator("section.open-findings")).to_contain_text("沒有未結的勾稽發現")
    shot(page, "dashboard-on-time")
    assert refused == []
