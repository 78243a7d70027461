"""The `/records` page: retention dates, legal holds set or cleared by the agency admin or audit teams (CSRF,
per agency, audited), the disposition record (R7.2-R7.4)."""

from __future__ import annotations

import pytest
from process_walk import granted_webir_access
from session_helpers import login, token_of
from sqlalchemy import select

from engine.models import AuditEvent
from workflows.models import AccountApplication


@pytest.fixture
def revoked_form(org_db, users) -> int:
    """dsw.staff's Form 1-2, revoked (dates written as account_revocation writes them)."""
    import datetime as dt

    iid = granted_webir_access(org_db, users, "dsw.staff")
    with org_db.transaction() as session:
        form = session.scalar(select(AccountApplication).where(AccountApplication.instance_id == iid))
        form.revoked_on, form.destroy_not_before = dt.date(2026, 12, 31), dt.date(2029, 12, 31)
        return form.id


def _hold(client, form_id: int, hold: str, reason: str, page: str = "/records"):
    token = token_of(client.get(page).get_data(as_text=True))
    return client.post("/records/hold", data={"kind": "application_form", "record_id": form_id, "hold": hold,
                                              "reason": reason, "csrf_token": token})


def _form(org_db, form_id: int) -> AccountApplication:
    with org_db.sessions() as session:
        return session.get(AccountApplication, form_id)


@pytest.mark.clause("R7.2")
def test_r7_2_agency_admin_sets_and_clears_a_legal_hold_on_the_records_page(client, org_db, revoked_form):
    login(client, "dsw.admin")
    page = client.get("/records").get_data(as_text=True)
    assert "檔案保存與銷毀" in page and f'id="application_form-{revoked_form}"' in page
    assert "2029-12-31" in page and "設定保全" in page
    response = _hold(client, revoked_form, "1", "訴訟中 Litigation")
    assert response.status_code == 303 and f"#application_form-{revoked_form}" in response.headers["Location"]
    assert (_form(org_db, revoked_form).legal_hold, _form(org_db, revoked_form).hold_reason) == (True,
                                                                                                "訴訟中 Litigation")
    page = client.get("/records").get_data(as_text=True)
    assert "已設定法律保全" in page and "訴訟中 Litigation" in page and "解除保全" in page
    assert _hold(client, revoked_form, "0", "   ").status_code == 303  # no reason: refused with a message
    assert _form(org_db, revoked_form).legal_hold is True
    assert "請填寫理由" in client.get("/records").get_data(as_text=True)
    login(client, "dsw.audit")
    _hold(client, revoked_form, "0", "結案 Case closed")
    assert _form(org_db, revoked_form).legal_hold is False
    with org_db.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("legal_hold_%"))
                                 .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor) for e in events] == [("legal_hold_set", "dsw.admin"),
                                                       ("legal_hold_cleared", "dsw.audit")]


def test_records_page_is_read_only_for_other_roles_and_hidden_from_other_agencies(client, org_db, revoked_form):
    login(client, "dsw.user")
    page = client.get("/records").get_data(as_text=True)
    assert f'id="application_form-{revoked_form}"' in page and "設定保全" not in page
    assert _hold(client, revoked_form, "1", "x").status_code == 403
    login(client, "daan.admin")
    assert client.get("/records?agency=DSW").status_code == 404
    assert _hold(client, revoked_form, "1", "x").status_code == 404
    assert _form(org_db, revoked_form).legal_hold is False


def test_records_hold_without_csrf_token_is_refused(client, org_db, revoked_form):
    login(client, "dsw.admin")
    response = client.post("/records/hold", data={"kind": "application_form", "record_id": revoked_form,
                                                  "hold": "1", "reason": "x"})
    assert response.status_code == 400 and _form(org_db, revoked_form).legal_hold is False


def test_records_page_needs_login(client):
    assert client.get("/records").status_code == 302
