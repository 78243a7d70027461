"""password_rotation (R5.6) in a real Chromium: each account acknowledges its own password change in its inbox;
the instance diagram (a multi-instance subprocess with its own lanes) draws with the open steps marked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from test_inbox_browser import browser, live_server, log_in, log_out, marked, page

from engine import runtime
from engine.models import User

pytestmark = pytest.mark.e2e
FIXTURES = (browser, live_server, page)  # shared with the inbox browser test (no second conftest.py)
PERIOD = {"obligation": "password_rotation", "period": "2027-03-31", "opens_at": "2027-03-31T00:00:00+08:00",
          "due_at": "2027-04-14T23:59:59+08:00", "clauses": ["R5.6"]}


def test_r5_6_each_account_acknowledges_in_its_own_inbox_and_the_diagram_marks_the_rest(live_server, page):
    with live_server.database.sessions() as session:
        starter = session.scalar(select(User.id).where(User.username == "dol.admin"))
    iid = runtime.start_instance(live_server.database, "password_rotation", starter, "DSW", PERIOD)
    log_in(page, live_server, "dsw.user")
    expect(page.locator("table.tasks a:has-text('確認已變更密碼')")).to_have_count(1)  # only their own
    page.click("table.tasks a:has-text('確認已變更密碼')")
    expect(page.locator(".instructions-text")).to_contain_text("dsw.user")
    page.check("input[name=password_changed]")
    page.fill("#field-changed_on", "2027-04-02")
    page.click(".task-form button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/instances/{iid}$"))
    page.wait_for_selector('.djs-container svg [data-element-id="acknowledge_password_change"]')
    expect(marked(page, "acknowledge_password_change", "ready-task")).to_have_count(1)  # the admins' are open
    expect(page.locator("table.ready-tasks tbody tr")).to_have_count(2)
    log_out(page)
    log_in(page, live_server, "dsw.admin")
    expect(page.locator("table.tasks a:has-text('確認已變更密碼')")).to_have_count(1)
