"""End-to-end fixtures: the app on a SQLite file, served by werkzeug in a thread, and a Chromium page."""

from __future__ import annotations

import datetime as dt
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from engine.db import Database
from workflows import bundled, demo

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
    from playwright.sync_api import sync_playwright

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
