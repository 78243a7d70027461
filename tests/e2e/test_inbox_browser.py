"""A real Chromium: apply for an account, confirm and review it through the forms (a validation error first),
see the drawn diagram with its markers, and the dashboard's late periods on the simulated clock.

Fixtures live here, not in a conftest.py: a second conftest module would shadow `from conftest import`.
Set WEBIR_SCREENSHOTS=<folder> to save screenshots of the main pages (docs/screenshots/ holds the committed ones).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from engine import clock, timekeeping
from engine.db import Database
from engine.models import SimulatedClockState
from engine.simulated_clock import ROW_ID, SimulatedClock
from workflows import bundled, demo
from workflows.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
SCREENSHOTS = os.environ.get("WEBIR_SCREENSHOTS")


class LiveServer(str):
    """The base URL, carrying the database behind it (tests that move the simulated clock need it)."""

    database: Database


@pytest.fixture
def live_server(tmp_path, monkeypatch):
    """Base URL of the app (served by werkzeug in a thread) with the demo organisation and the bundled models
    (SQLite only). Other browser test modules import this fixture: keep it self-contained."""
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
    url = LiveServer(f"http://127.0.0.1:{server.server_port}")
    url.database = database
    yield url
    server.shutdown()
    thread.join(timeout=10)
    database.dispose()


@pytest.fixture
def simulated(live_server):
    """The simulated clock on the app's database, at 2026-02-01 (demo agencies approved 2026-01-01)."""
    start = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    with live_server.database.transaction() as session:
        session.add(SimulatedClockState(id=ROW_ID, now=start, updated_at=start))
    clock.install(SimulatedClock(live_server.database))
    yield live_server.database
    clock.install(clock.SystemClock())


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
    """A fresh laptop-sized browser page that fails the test on JavaScript errors."""
    context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei", viewport={"width": 1280, "height": 900})
    new_page = context.new_page()
    new_page.set_default_timeout(20_000)
    errors: list[str] = []
    new_page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield new_page
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def shot(page, name: str) -> None:
    """Save a full-page screenshot when WEBIR_SCREENSHOTS names a folder."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


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


def marked(page, element_id: str, marker: str):
    """The SVG group bpmn-js drew for a BPMN element, carrying a marker class."""
    return page.locator(f'.djs-container svg g.djs-element.{marker}[data-element-id="{element_id}"]')


def apply_in_the_browser(page, base: str) -> str:
    """dsw.staff fills in Form 1-2; returns the instance page address."""
    log_in(page, base, "dsw.staff")
    page.click("button[data-process=user_account_application]")
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    fill_form_1_2(page)
    page.click(".task-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/instances/\d+$"))
    expect(page.locator(".flashes")).to_contain_text("已送出 Submitted")
    return page.url


def test_apply_confirm_review_and_grant_in_the_browser(live_server, page):
    instance_url = apply_in_the_browser(page, live_server)
    page.wait_for_selector('.djs-container svg [data-element-id="confirm_business_need"]')
    expect(marked(page, "confirm_business_need", "ready-task")).to_have_count(1)
    expect(marked(page, "fill_form_1_2", "completed-task")).to_have_count(1)
    log_out(page)

    log_in(page, live_server, "dsw.unit")
    expect(page.locator('nav.tabs [data-tab="claimable"] .count')).to_have_text("1")
    shot(page, "inbox")
    page.click("table.tasks a:has-text('確認業務需要')")
    page.check("input[name=unit_decision][value=confirm]")
    page.check("input[name=business_need_confirmed]")
    page.click(".task-form button[type=submit]")
    expect(page).to_have_url(instance_url)
    log_out(page)

    log_in(page, live_server, "dsw.admin")
    page.click("table.tasks a:has-text('審核申請 Review application')")
    expect(page.locator(".instructions-text")).to_contain_text("tsai.egov")
    page.check("input[name=decision][value=grant]")
    page.click(".task-form button[type=submit]")  # without the three checks: refused by the server
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator(".field-error").first).to_contain_text("必須勾選")
    expect(page.locator("input[name=decision][value=grant]")).to_be_checked()  # what was typed is kept
    shot(page, "task-form-error")
    for name in ("purpose_checked", "legal_basis_checked", "within_business_scope"):
        page.check(f"input[name={name}]")
    page.click(".task-form button[type=submit]")

    expect(page).to_have_url(instance_url)
    expect(page.locator(".instance-status")).to_have_text("已完成 Completed")
    page.wait_for_selector(".djs-container svg .djs-element")
    expect(marked(page, "review_application", "completed-task")).to_have_count(1)
    expect(page.locator(".ready-task")).to_have_count(0)
    expect(page.locator("ol.timeline")).to_contain_text("流程完成 Process completed")
    shot(page, "instance")


def test_late_task_and_late_period_on_the_simulated_clock(live_server, page, simulated):
    instance_url = apply_in_the_browser(page, live_server)
    log_out(page)
    timekeeping.advance_to(simulated, dt.datetime(2026, 3, 5, tzinfo=dt.UTC))  # the confirmation is overdue now

    log_in(page, live_server, "dsw.admin")
    page.goto(instance_url)
    page.wait_for_selector('.djs-container svg [data-element-id="confirm_business_need"]')
    expect(marked(page, "confirm_business_need", "late-task")).to_have_count(1)
    expect(page.locator(".legend")).to_contain_text("逾期")
    page.goto(f"{live_server}/dashboard?agency=DSW")
    late = page.locator("#grid-DSW ~ .table-wrap a.period.cell-late", has_text="2026-01")
    expect(late).to_have_count(1)
    expect(page.locator("table.attention")).to_contain_text("逾期 Late")
    shot(page, "dashboard")
    late.click()
    expect(page).to_have_url(re.compile(r"/instances/\d+$"))
    page.wait_for_selector(".djs-container svg .djs-element.late-task")
    expect(page.locator(".instance-status")).to_have_text("執行中 Running")


def test_print_view_and_english_first(live_server, page):
    apply_in_the_browser(page, live_server)
    page.goto(f"{live_server}/?lang=en&tab=completed")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("table.tasks a")
    page.click("a:has-text('Print view')")
    expect(page.locator("table.print-form")).to_contain_text("tsai.egov")
    expect(page.locator(".js-print")).to_be_visible()
    shot(page, "print-view")
