"""Printable Form 1-1, 1-2 and 3: A4 pages with every filled value, dates in 民國 and ISO, only for those who
may see the process instance (R3.1, R5.1, R5.3, R5.4, R6.2, R7.2)."""

from __future__ import annotations

import re

import pytest
from process_walk import APPROVE_ONBOARDING, CONSENT, FORM_1_1, granted_webir_access, step
from sqlalchemy import select

from engine import runtime
from workflows.demo import DEMO_PASSWORD
from workflows.models import AccountApplication
from workflows.models_accounts import OnboardingApplication, ProxyAuthorization

META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def login(client, username: str) -> None:
    token = META_TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code in (302, 303)


def page(client, username: str, path: str):
    login(client, username)
    return client.get(path)


def _record_id(db, model, instance_id: int) -> int:
    with db.sessions() as session:
        return session.scalar(select(model.id).where(model.instance_id == instance_id))


@pytest.mark.clause("R5.3")
def test_r5_3_form_1_2_prints_every_value_with_roc_and_iso_dates(client, org_db, users):
    iid = granted_webir_access(org_db, users, "dsw.staff")
    path = f"/forms/1-2/{_record_id(org_db, AccountApplication, iid)}"
    response = page(client, "dsw.staff", path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    for value in ("表 1-2 Form 1-2", "tsai.egov", "社會救助科 Social Assistance", "社工員 Social worker",
                  "公務人員 Civil servant", "查核低收入戶資格", "社會救助法第 5 條", "社會救助 Social assistance",
                  "民國115年11月29日（2026-11-29）", "核准 Granted", "dsw.admin", "R5.3"):
        assert value in html, value
    assert 'href="/static/printable-forms.css"' in html and 'class="js-print"' in html
    css = client.get("/static/printable-forms.css").get_data(as_text=True)
    assert "size: A4" in css and "@media print" in css


@pytest.mark.clause("R7.2")
def test_r7_2_form_1_2_shows_the_revocation_and_destruction_dates(client, org_db, users):
    iid = granted_webir_access(org_db, users, "dsw.staff")
    revocation = runtime.start_instance(org_db, "account_revocation", users["dsw.staff"])
    step(org_db, revocation, "fill_revocation_request", users["dsw.staff"],
         {"reason_kind": "resigned", "effective_date": "2026-12-31"})
    step(org_db, revocation, "revoke_account", users["dsw.admin"],
         {"revocation_date": "2026-12-31", "form_annotated": True, "webir_access_removed": True})
    html = page(client, "dsw.admin", f"/forms/1-2/{_record_id(org_db, AccountApplication, iid)}").get_data(
        as_text=True)
    assert "民國115年12月31日（2026-12-31）" in html and "民國118年12月31日（2029-12-31）" in html


@pytest.mark.clause("R3.1")
def test_r3_1_form_1_1_prints_the_application_the_consent_and_the_decision(client, org_db, users):
    iid = runtime.start_instance(org_db, "agency_onboarding", users["daan.staff"])
    step(org_db, iid, "fill_form_1_1", users["daan.staff"], FORM_1_1)
    record = _record_id(org_db, OnboardingApplication, iid)
    submitted = page(client, "daan.staff", f"/forms/1-1/{record}").get_data(as_text=True)
    assert "審核中 Under review" in submitted and FORM_1_1["official_letter_number"] in submitted
    step(org_db, iid, "give_consent", users["dsw.admin"], CONSENT)
    step(org_db, iid, "review_onboarding", users["dol.admin"], APPROVE_ONBOARDING)
    html = page(client, "dol.admin", f"/forms/1-1/{record}").get_data(as_text=True)
    for value in ("表 1-1 Form 1-1", "hsu.egov", "自然人憑證已上傳 Citizen certificate uploaded", "是 Yes",
                  "臺北市大安區公所", "臺北市政府社會局", CONSENT["consent_reference"], "核准 Approved",
                  "民國115年3月2日（2026-03-02）", "dol.admin", FORM_1_1["legal_basis"]):
        assert value in html, value
    assert page(client, "dsw.admin", f"/forms/1-1/{record}").status_code == 200  # the delegating agency


@pytest.mark.clause("R6.2")
def test_r6_2_form_3_prints_the_authorisation_and_its_filing(client, org_db, users):
    from workflows.access import today

    granted_webir_access(org_db, users, "dsw.staff")
    start = today().isoformat()
    iid = runtime.start_instance(org_db, "proxy_query_authorization", users["dsw.user"])
    step(org_db, iid, "fill_form_3", users["dsw.user"], {
        "proxy_username": "dsw.staff", "case_number": "115-社救-00042", "business_items": ["social_assistance"],
        "urgency": "urgent", "reason": "個案急需審核 Urgent case", "valid_from": start, "valid_until": start,
        "authorisation_date": start})
    step(org_db, iid, "file_form_3", users["dsw.admin"],
         {"official_document_number": "北市社助字第1150000010號", "filed_on": start})
    html = page(client, "dsw.user", f"/forms/3/{_record_id(org_db, ProxyAuthorization, iid)}").get_data(
        as_text=True)
    for value in ("勞保資料代查授權書", "115-社救-00042", "緊急需要 Urgent need", "北市社助字第1150000010號",
                  "已歸檔 Filed", "dsw.staff", "dsw.user", f"（{start}）"):
        assert value in html, value


def test_forms_are_404_for_those_who_may_not_see_the_instance(app, client, org_db, users):
    iid = granted_webir_access(org_db, users, "dsw.staff")
    path = f"/forms/1-2/{_record_id(org_db, AccountApplication, iid)}"
    assert page(client, "daan.admin", path).status_code == 404
    assert page(client, "dsw.staff", "/forms/1-2/999999").status_code == 404
    assert page(client, "dsw.staff", "/forms/9/1").status_code == 404
    assert app.test_client().get(path).status_code == 302  # to the login page


def test_the_instance_page_links_its_printable_forms(client, org_db, users):
    iid = granted_webir_access(org_db, users, "dsw.staff")
    html = page(client, "dsw.staff", f"/instances/{iid}").get_data(as_text=True)
    assert f'href="/forms/1-2/{_record_id(org_db, AccountApplication, iid)}"' in html
