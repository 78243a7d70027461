"""A real Chromium: apply for an account in the browser, review and grant it, see the drawn diagram."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from workflows.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    expect(page.locator("nav.topnav")).to_contain_text("(")


def log_out(page) -> None:
    page.click("nav.topnav form button[type=submit]")
    expect(page.locator("input[name=password]")).to_be_visible()


def fill_form_1_2(page) -> None:
    page.fill("#field-unit", "社會救助科 Social Assistance")
    page.fill("#field-job_title", "社工員 Social worker")
    page.check("input[name=employment_type][value=civil_servant]")
    page.fill("#field-egov_account", "tsai.egov")
    page.fill("#field-purpose", "查核低收入戶資格")
    page.check("input[name=business_items][value=social_assistance]")
    page.fill("#field-legal_basis", "社會救助法第 5 條")
    page.fill("#field-application_date", "2026-11-29")


def test_apply_review_grant_in_the_browser(live_server, page):
    log_in(page, live_server, "dsw.staff")
    page.click("button[data-process=user_account_application]")
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    fill_form_1_2(page)
    page.click(".task-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/instances/\d+$"))
    instance_url = page.url
    expect(page.locator(".flashes")).to_contain_text("已送出 Submitted")
    page.wait_for_selector('.djs-container svg [data-element-id="review_application"]')
    expect(page.locator('g.djs-element.ready-task[data-element-id="review_application"]')).to_have_count(1)
    log_out(page)

    log_in(page, live_server, "dsw.admin")
    page.click("table.tasks a:has-text('審核申請 Review application')")
    expect(page.locator(".instructions-text")).to_contain_text("tsai.egov")
    for name in ("purpose_checked", "legal_basis_checked", "within_business_scope"):
        page.check(f"input[name={name}]")
    page.check("input[name=decision][value=grant]")
    page.click(".task-form button[type=submit]")

    expect(page).to_have_url(instance_url)
    expect(page.locator(".instance-status")).to_have_text("已完成 Completed")
    page.wait_for_selector(".djs-container svg")
    expect(page.locator(".djs-container svg .djs-element").first).to_be_attached()
    expect(page.locator(".ready-task")).to_have_count(0)
    expect(page.locator("table.history")).to_contain_text("流程完成 Process completed")
