"""The query register page, Form 2 (R6.1): a WebIR user records queries (a repeat in two clicks, prefilled from
the last entry), sees only their own entries, and names a filed proxy authorisation (Form 3, R6.2) when given."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from process_walk import step
from session_helpers import login, post
from sqlalchemy import select

from engine import runtime
from engine.models import Agency, User
from workflows.access import today
from workflows.models_accounts import ProxyAuthorization
from workflows.models_records import RegisterEntry
from workflows.org import grant_role

START, END = today(), today() + dt.timedelta(days=29)
FORM_3 = {"proxy_username": "dsw.staff", "case_number": "115-社救-00042", "business_items": ["social_assistance"],
          "urgency": "urgent", "reason": "承辦人出差 Caseworker away", "valid_from": START.isoformat(),
          "valid_until": END.isoformat(), "authorisation_date": START.isoformat()}
FILE = {"official_document_number": "北市社助字第1150000010號", "filed_on": START.isoformat()}
ENTRY = {"case_number": "C-115-001", "query_time": "2026-11-02T10:15", "purpose": "低收入戶資格審查",
         "subject_id": "a123456789", "query_item": "投保資料"}


def _entries(db) -> list[RegisterEntry]:
    with db.sessions() as session:
        return list(session.scalars(select(RegisterEntry).order_by(RegisterEntry.id)))


def test_r6_1_user_records_an_entry_and_a_repeat_is_prefilled_from_it(client, org_db):
    login(client, "dsw.user")
    assert post(client, "/register", ENTRY, page="/register").status_code == 303
    [entry] = _entries(org_db)
    assert (entry.case_number, entry.querier, entry.subject_id, entry.source) == (
        "C-115-001", "dsw.user", "A123456789", "web")
    assert entry.queried_at == dt.datetime(2026, 11, 2, 2, 15, tzinfo=dt.UTC)  # 10:15 Asia/Taipei
    page = client.get("/register").get_data(as_text=True)
    assert 'name="case_number" value="C-115-001"' in page and 'value="低收入戶資格審查"' in page
    assert "C-115-001" in page.split("我的登記")[1]
    # The second click: the prefilled form as it is (its time is now).
    repeat = {**ENTRY, "query_time": dt.datetime.now().strftime("%Y-%m-%dT%H:%M")}
    assert post(client, "/register", repeat, page="/register").status_code == 303
    assert len(_entries(org_db)) == 2



def test_r6_1_inbox_offers_the_register_to_webir_users_only(client, org_db):
    login(client, "dsw.user")
    inbox = client.get("/").get_data(as_text=True)
    assert 'id="register-query" href="/register"' in inbox  # first click; the prefilled form's send is the second
    login(client, "dsw.staff")  # staff without a WebIR account
    assert 'id="register-query"' not in client.get("/").get_data(as_text=True)

def test_r6_1_bad_entry_answers_422_next_to_the_field_and_keeps_nothing(client, org_db):
    login(client, "dsw.user")
    answer = post(client, "/register", {**ENTRY, "query_time": "someday"}, page="/register")
    assert answer.status_code == 422 and 'id="register-query_time-error"' in answer.get_data(as_text=True)
    assert _entries(org_db) == []


def test_r6_1_only_webir_users_record_and_each_sees_only_their_own(client, org_db):
    login(client, "dsw.user")
    post(client, "/register", ENTRY, page="/register")
    client.get("/logout")
    login(client, "dsw.staff")  # staff without the WebIR user role
    page = client.get("/register").get_data(as_text=True)
    assert "C-115-001" not in page and 'name="case_number"' not in page
    assert post(client, "/register", ENTRY, page="/register").status_code == 403
    assert len(_entries(org_db)) == 1


def test_r6_2_entry_names_a_filed_proxy_authorisation_in_force_else_422(client, org_db, users):
    with org_db.transaction() as session:  # dsw.staff becomes a WebIR user, then dsw.user's proxy
        staff = session.scalar(select(User).where(User.username == "dsw.staff"))
        grant_role(session, staff, session.scalar(select(Agency).where(Agency.code == "DSW")), "user")
    iid = runtime.start_instance(org_db, "proxy_query_authorization", users["dsw.user"])
    step(org_db, iid, "fill_form_3", users["dsw.user"], FORM_3)
    step(org_db, iid, "file_form_3", users["dsw.admin"], FILE)
    with org_db.sessions() as session:
        form_3_id = session.scalar(select(ProxyAuthorization.id))
    login(client, "dsw.staff")
    assert f'<option value="{form_3_id}"' in client.get("/register").get_data(as_text=True)
    soon = (dt.datetime.now(ZoneInfo("Asia/Taipei")) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    entry = {**ENTRY, "case_number": FORM_3["case_number"], "query_time": soon, "proxy_authorization": str(form_3_id)}
    assert post(client, "/register", entry, page="/register").status_code == 303
    [kept] = _entries(org_db)
    assert (kept.proxy_authorization_id, kept.querier) == (form_3_id, "dsw.staff")
    other_case = post(client, "/register", {**entry, "case_number": "C-other"}, page="/register")
    assert other_case.status_code == 422 and "Form 3" in other_case.get_data(as_text=True)
    assert len(_entries(org_db)) == 1
