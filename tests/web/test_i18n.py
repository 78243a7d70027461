"""Language and calendar: zh-TW first by default, English first on request (sticky), 民國 dates on request."""

from __future__ import annotations

import datetime as dt

from session_helpers import login

from web.filters import localdate, localtime, roc_format


def test_chinese_first_by_default(client, users):
    login(client, "dsw.staff")
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-Hant-TW">' in page
    assert "我的待辦 <small>My tasks</small>" in page and '<small class="alt" lang="en">' in page
    assert 'href="/?lang=en"' in page


def test_english_first_on_request_and_remembered(client, users):
    login(client, "dsw.staff")
    response = client.get("/?lang=en")
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert 'My tasks <small lang="zh-Hant-TW">我的待辦</small>' in page
    assert '<small class="alt" lang="zh-Hant-TW">' in page
    assert any(h.startswith("lang=en;") for h in response.headers.getlist("Set-Cookie"))
    assert '<html lang="en">' in client.get("/instances").get_data(as_text=True)  # the cookie keeps it
    assert '<html lang="zh-Hant-TW">' in client.get("/?lang=zh").get_data(as_text=True)
    assert '<html lang="zh-Hant-TW">' in client.get("/?lang=xx").get_data(as_text=True)


def test_roc_calendar_option(client, users):
    assert localtime("2026-11-29T06:03:00+00:00", roc=True) == "民國115年11月29日 14:03"
    assert localdate("2026-01-01T00:00:00+08:00", roc=True) == "民國115年01月01日"
    assert localtime("2026-11-29T06:03:00+00:00") == "2026-11-29 14:03"
    assert roc_format(dt.date(2011, 10, 10), "%Y") == "100"
    login(client, "dsw.staff")
    client.get("/?cal=roc")
    page = client.get("/instances").get_data(as_text=True)
    assert 'href="/instances?cal=ad"' in page
    assert "民國" in client.get("/dashboard").get_data(as_text=True)  # the clock line, in the 民國 calendar


def test_numbers_follow_the_locale(app):
    from web.i18n import number, percent

    with app.test_request_context("/?lang=en"):
        assert number(12345) == "12,345" and percent(0.875) == "88%"
    with app.test_request_context("/"):
        assert number(12345) == "12,345"
