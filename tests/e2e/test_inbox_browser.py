"""A real Chromium: apply for an account in the browser, review and grant it, see the drawn diagram.

Fixtures live here, not in a conftest.py: a second conftest module would shadow `from conftest import`.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import threading

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from engine.db import Database
from workflows import bundled, demo
from workflows.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]


@pytest.fixture
def live_server(tmp_path, monkeypatch):
    """Base URL of the app with the demo organisation and the bundled models (SQLite only)."""
    database = Database(f"sqlite:///{tmp_path / 'e2e.sqlite3'}")
    database.create_all()
    with database.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
        bundled.deploy_bundled(session)
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path / "instance"))
    from web import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "e2e-secret", "DATABASE": database})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    database.dispose()


@pytest.fixture
def browser():
    """Debian's Chromium driven by Playwright; a missing Chromium fails the test (it is a requirement)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium not found on PATH: install Debian's chromium package (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh browser page that fails the test on JavaScript errors."""
    context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei")
    new_page = context.new_page()
    new_page.set_default_timeout(20_000)
    errors: list[str] = []
    new_page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield new_page
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


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
