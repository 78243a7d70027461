"""HTML pages through the Flask test client: login, inbox, task forms, instance pages, visibility, escaping."""

from __future__ import annotations

import html
import re

import pytest
from conftest import FORM_1_2, GRANT
from process_walk import CONFIRM_NEED
from session_helpers import login, logout, post, token_of


def form_data(values: dict) -> dict:
    """JSON values as a browser would post them (booleans as 'true', lists as repeated fields)."""
    return {k: ("true" if v is True else v) for k, v in values.items() if v is not False}


def start_application(client) -> tuple[int, str]:
    """Start user_account_application from the inbox; returns (task id, task page path)."""
    response = post(client, "/instances/start", {"process_id": "user_account_application"})
    assert response.status_code == 303
    location = response.headers["Location"]
    match = re.search(r"/tasks/(\d+)$", location)
    assert match, location
    return int(match.group(1)), location


def confirm_business_need(client) -> None:
    """dsw.unit (the unit supervisor) confirms the business need from their inbox (R5.3)."""
    login(client, "dsw.unit")
    page = client.get("/").get_data(as_text=True)
    task_id = re.search(r'<a href="/tasks/(\d+)">確認業務需要 Confirm the business need</a>', page).group(1)
    response = post(client, f"/tasks/{task_id}", form_data(CONFIRM_NEED), page=f"/tasks/{task_id}")
    assert response.status_code == 303, response.get_data(as_text=True)
    logout(client)


def submit_form_1_2(client, values: dict) -> tuple[int, int]:
    """dsw.staff starts an application and submits Form 1-2, dsw.unit confirms it; returns (instance id,
    staff task id)."""
    login(client, "dsw.staff")
    task_id, path = start_application(client)
    response = post(client, path, form_data(values), page=path)
    assert response.status_code == 303, response.get_data(as_text=True)
    instance_id = int(re.search(r"/instances/(\d+)$", response.headers["Location"]).group(1))
    logout(client)
    confirm_business_need(client)
    return instance_id, task_id


def review_task_id(client) -> int:
    """The review task link in the current user's inbox."""
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'<a href="/tasks/(\d+)">審核申請 Review application</a>', page)
    assert match, page
    return int(match.group(1))


def test_login_page_has_the_contract(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-Hant-TW">' in page
    assert re.search(r'<input type="text" id="username" name="username"', page)
    assert re.search(r'<input type="password" id="password" name="password"', page)
    assert re.search(r'<input type="hidden" name="csrf_token" value="[^"]+">', page)
    assert token_of(page)


def test_session_cookie_is_httponly_and_lax(client, users):
    response = login(client, "dsw.staff")
    assert response.status_code == 302
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_wrong_password_stays_on_login(client, users):
    response = login(client, "dsw.staff", "wrong-password")
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert 'name="password"' in page
    assert "帳號或密碼錯誤" in page
    assert 'value="dsw.staff"' in page


def test_pages_require_login(client, users):
    for path in ("/", "/instances", "/tasks/1", "/instances/1", "/dashboard", "/modeler", "/regulation"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"]


def test_nav_and_regulation_pages(client, users):
    login(client, "dsw.admin")
    page = client.get("/").get_data(as_text=True)
    for label in ("我的待辦 <small>My tasks", "流程 <small>Processes", "儀表板 <small>Dashboard",
                  "流程設計 <small>Modeler", "法規 <small>Regulation", "(DSW)", 'action="/logout"'):
        assert label in page
    regulation = client.get("/regulation").get_data(as_text=True)
    assert "法規對照" in regulation and token_of(regulation)


def test_dashboard_shows_late_and_missed_obligations_of_visible_agencies_only(client, users, sim_clock):
    import datetime as dt

    from engine import timekeeping

    sim_clock.set(dt.datetime(2026, 2, 1, tzinfo=dt.UTC))  # demo agencies approved 2026-01-01
    timekeeping.advance_to(client.application.extensions["webir_db"], dt.datetime(2026, 3, 5, tzinfo=dt.UTC))
    login(client, "daan.admin")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "逾期 Late" in page and "R3.3, R8.1.2" in page and "2026-01" in page
    assert "DAAN" in page and "<td>DSW</td>" not in page


def test_application_is_filled_reviewed_and_granted(client, users):
    login(client, "dsw.staff")
    inbox = client.get("/").get_data(as_text=True)
    assert 'name="process_id" value="user_account_application"' in inbox
    task_id, path = start_application(client)
    form = client.get(path).get_data(as_text=True)
    assert 'name="unit"' in form and 'name="business_items"' in form

    missing = {k: v for k, v in FORM_1_2.items() if k != "job_title"}
    response = post(client, path, form_data(missing), page=path)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(r'<label for="field-job_title">.*?</div>', page, re.S).group(0)
    assert 'id="field-job_title-error"' in error and "必填 Required" in error
    assert f'value="{html.escape(FORM_1_2["unit"])}"' in page
    assert f'value="{FORM_1_2["egov_account"]}"' in page
    assert re.search(r'value="social_assistance"\s+checked', page)

    response = post(client, path, form_data(FORM_1_2), page=path)
    assert response.status_code == 303
    instance_path = response.headers["Location"]
    assert re.search(r"/instances/\d+$", instance_path)
    assert "已送出 Submitted" in client.get(instance_path).get_data(as_text=True)
    logout(client)
    confirm_business_need(client)

    login(client, "dsw.admin")
    review = review_task_id(client)
    review_page = client.get(f"/tasks/{review}").get_data(as_text=True)
    assert "tsai.egov" in review_page and 'name="decision"' in review_page
    response = post(client, f"/tasks/{review}", form_data(GRANT), page=f"/tasks/{review}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(instance_path)

    done = client.get(instance_path).get_data(as_text=True)
    assert "已完成 Completed" in done
    assert "啟動流程 Process started" in done and "完成任務 Task completed" in done
    assert "dsw.admin" in done and "流程完成 Process completed" in done
    assert 'data-bpmn-url="/api/v1/process-models/user_account_application/bpmn?version=' in done


def test_review_task_needs_checks_to_grant(client, users):
    submit_form_1_2(client, FORM_1_2)
    login(client, "dsw.admin")
    review = review_task_id(client)
    response = post(client, f"/tasks/{review}", {"decision": "grant"}, page=f"/tasks/{review}")
    assert response.status_code == 422
    assert "必須勾選 Must be checked" in response.get_data(as_text=True)


def test_applicant_cannot_review_and_sees_why(client, users):
    instance_id, _ = submit_form_1_2(client, FORM_1_2)
    login(client, "dsw.admin")
    review = review_task_id(client)
    logout(client)
    login(client, "dsw.staff")
    page = client.get(f"/tasks/{review}").get_data(as_text=True)
    assert 'name="decision"' not in page
    response = post(client, f"/tasks/{review}", form_data(GRANT), page=f"/tasks/{review}")
    assert response.status_code == 403
    assert "Traceback" not in response.get_data(as_text=True)


def test_claim_and_unclaim(client, users):
    submit_form_1_2(client, FORM_1_2)
    login(client, "dsw.admin")
    review = review_task_id(client)
    response = post(client, f"/tasks/{review}/claim", {}, page=f"/tasks/{review}")
    assert response.status_code == 303
    page = client.get(f"/tasks/{review}").get_data(as_text=True)
    assert "已認領 Claimed" in page and "退回 Unclaim" in page
    response = post(client, f"/tasks/{review}/unclaim", {}, page=f"/tasks/{review}")
    assert response.status_code == 303
    assert "認領 Claim" in client.get(f"/tasks/{review}").get_data(as_text=True)


def test_completed_task_redirects_to_instance(client, users):
    instance_id, staff_task = submit_form_1_2(client, FORM_1_2)
    login(client, "dsw.staff")
    response = post(client, f"/tasks/{staff_task}", form_data(FORM_1_2), page=f"/tasks/{staff_task}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/instances/{instance_id}")
    assert "不在待辦" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_other_agency_gets_404(client, users):
    instance_id, _ = submit_form_1_2(client, FORM_1_2)
    login(client, "dsw.admin")
    review = review_task_id(client)
    logout(client)
    login(client, "daan.admin")
    for path in (f"/tasks/{review}", f"/instances/{instance_id}"):
        response = client.get(path)
        assert response.status_code == 404, path
        page = response.get_data(as_text=True)
        assert "找不到" in page and "審核申請" not in page
    response = post(client, f"/tasks/{review}", form_data(GRANT))
    assert response.status_code == 404
    assert "/instances/" not in client.get("/instances").get_data(as_text=True).split("<tbody>")[1]


def test_submitted_script_is_escaped_on_the_review_page(client, users):
    script = "<script>alert(1)</script>"
    submit_form_1_2(client, {**FORM_1_2, "unit": script})
    login(client, "dsw.admin")
    page = client.get(f"/tasks/{review_task_id(client)}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert script not in page
    assert "&amp;lt;" not in page


@pytest.mark.parametrize("path", ["/no-such-page", "/tasks/999999", "/instances/999999"])
def test_not_found_pages_are_html(client, users, path):
    login(client, "dsw.staff")
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html" and token_of(response.get_data(as_text=True))


def test_api_errors_stay_json(client, users):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"]


def test_method_not_allowed_page(client, users):
    response = client.get("/instances/start")
    assert response.status_code == 405
    assert "不支援" in response.get_data(as_text=True)


def test_bpmn_js_assets(client):
    response = client.get("/assets/bpmn-js/bpmn-navigated-viewer.production.min.js")
    assert response.status_code == 200
    response.close()
    assert client.get("/assets/bpmn-js/../package.json").status_code == 404
    assert client.get("/assets/bpmn-js/%2e%2e/package.json").status_code == 404
    assert client.get("/assets/bpmn-js/nope.js").status_code == 404


def test_times_are_shown_in_taipei(app):
    from web.filters import localtime, role_label, status_label

    assert localtime("2026-11-29T06:03:00+00:00") == "2026-11-29 14:03"
    assert localtime(None) == ""
    assert status_label("running") == "執行中 Running"
    assert role_label("agency_admin") == "使用機關管理者 Agency administrator"


def test_pagination_links_keep_the_list_filters(app):
    with app.test_request_context("/"):
        macro = app.jinja_env.get_template("_pagination.html").module.pagination
        html = str(macro("inbox.index", 2, 3, {"scope": "all", "status": "ready"}))
    assert "page=1" in html and "page=3" in html and "scope=all" in html and "2 / 3" in html
