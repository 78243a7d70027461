"""Records disposition over the API: legal holds (agency admin or audit teams, per agency) and the disposition
record (what, when, who, SHA-256), R7.2-R7.4."""

from __future__ import annotations

import datetime as dt

import pytest
from process_walk import granted_webir_access, step
from sqlalchemy import select

from engine import evidence, runtime
from engine.models import Agency, AuditEvent
from workflows.models import AccountApplication

TAIPEI = dt.timezone(dt.timedelta(hours=8))
CONFIRM = {"destroyed_only_after_3_years": True, "audit_records_retained_3_years": True,
           "personal_data_filed_or_destroyed": True, "destruction_list_reference": "銷毀清冊-2030"}


@pytest.fixture
def form_id(org_db, users) -> int:
    iid = granted_webir_access(org_db, users, "dsw.staff")
    with org_db.sessions() as session:
        return session.scalar(select(AccountApplication.id).where(AccountApplication.instance_id == iid))


def _hold(client, headers, form: int, body: dict):
    return client.post(f"/api/v1/account-applications/{form}/hold", json=body, headers=headers)


@pytest.mark.clause("R7.2")
def test_r7_2_legal_hold_on_form_1_2_by_the_agency_admin_or_auditors_of_that_agency(client, token_for, form_id,
                                                                                  org_db):
    held = _hold(client, token_for("dsw.admin"), form_id, {"hold": True, "reason": "訴訟中 Litigation"})
    assert held.status_code == 200 and held.get_json()["legal_hold"] is True
    assert _hold(client, token_for("dsw.admin"), form_id, {"hold": True}).status_code == 400
    assert _hold(client, token_for("dsw.admin"), form_id, {"hold": "yes", "reason": "x"}).status_code == 400
    assert _hold(client, token_for("dsw.user"), form_id, {"hold": False, "reason": "x"}).status_code == 403
    assert _hold(client, token_for("daan.admin"), form_id, {"hold": False, "reason": "x"}).status_code == 404
    assert _hold(client, token_for("dsw.admin"), 999999, {"hold": False, "reason": "x"}).status_code == 404
    cleared = _hold(client, token_for("dol.audit"), form_id, {"hold": False, "reason": "結案 Case closed"})
    assert cleared.status_code == 200 and cleared.get_json()["legal_hold"] is False
    with org_db.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("legal_hold_%"))
                                 .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor) for e in events] == [("legal_hold_set", "dsw.admin"),
                                                       ("legal_hold_cleared", "dol.audit")]


def test_session_hold_without_csrf_token_is_refused(client, form_id):
    from session_helpers import login

    login(client, "dsw.admin")
    response = client.post(f"/api/v1/account-applications/{form_id}/hold", json={"hold": True, "reason": "x"})
    assert response.status_code == 400


@pytest.mark.clause("R7.3", "R7.4")
def test_r7_4_disposition_record_lists_what_when_who_and_digest_per_agency(client, token_for, org_db, users,
                                                                           sim_clock, tmp_path, monkeypatch):
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path / "instance"))
    sim_clock.set(dt.datetime(2026, 5, 1, 9, tzinfo=TAIPEI))
    with org_db.transaction() as session:
        dsw = session.scalar(select(Agency.id).where(Agency.code == "DSW"))
        old = evidence.store(session, tmp_path / "instance", b"2026 audit", "audit.pdf", "audit_record", "x", dsw)
    held = client.post(f"/api/v1/evidence/{old.id}/hold", json={"hold": True, "reason": "查核中 Under audit"},
                       headers=token_for("dsw.admin"))
    assert held.status_code == 200 and held.get_json()["legal_hold"] is True  # agency admins may hold now
    client.post(f"/api/v1/evidence/{old.id}/hold", json={"hold": False, "reason": "查核完畢 Audit done"},
                headers=token_for("dsw.audit"))
    sim_clock.set(dt.datetime(2030, 12, 2, 9, tzinfo=TAIPEI))
    iid = runtime.start_instance(org_db, "records_disposition", users["dol.admin"], agency_code="DSW",
                                 data={"period": "2030", "due_at": "2030-12-31T23:59:59+08:00"})
    step(org_db, iid, "run_records_destruction", users["dsw.admin"], CONFIRM)
    step(org_db, iid, "approve_destruction_list", users["dsw.head"], {"decision": "approve"})
    listed = client.get("/api/v1/dispositions", headers=token_for("dsw.head"))
    assert listed.status_code == 200
    [item] = listed.get_json()
    assert (item["record_kind"], item["record_id"], item["status"]) == ("evidence_file", old.id, "destroyed")
    assert (item["sha256"], item["destroyed_by"], item["instance_id"]) == (old.sha256, "dsw.head", iid)
    assert dt.datetime.fromisoformat(item["destroyed_at"]) == dt.datetime(2030, 12, 2, 9, tzinfo=TAIPEI)
    assert "audit.pdf" in item["what"]
    by_instance = client.get(f"/api/v1/dispositions?agency=DSW&instance_id={iid}", headers=token_for("dol.audit"))
    assert [i["id"] for i in by_instance.get_json()] == [item["id"]]
    assert client.get("/api/v1/dispositions?agency=DSW", headers=token_for("daan.admin")).status_code == 404
    assert client.get("/api/v1/dispositions?agency=NOPE", headers=token_for("dol.audit")).status_code == 404
    assert client.get("/api/v1/dispositions", headers=token_for("dsw.user")).status_code == 403
    gone = client.post(f"/api/v1/evidence/{old.id}/hold", json={"hold": True, "reason": "late"},
                       headers=token_for("dsw.audit"))
    assert gone.status_code == 409


def test_openapi_lists_the_disposition_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/account-applications/{application_id}/hold" in paths and "/dispositions" in paths
