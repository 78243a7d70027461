"""The agency's register comparison method (R3.4, R6.6) from the CLI and the API: per agency, audited."""

from __future__ import annotations

from sqlalchemy import select

from engine.models import AuditEvent


def test_r3_4_cli_shows_and_sets_the_method(webir):
    assert webir("init-db", "--demo").exit_code == 0
    assert webir("agency", "record-method", "DSW").output.strip() == "DSW count"
    assert webir("agency", "record-method", "dsw", "--per-record").output.strip() == "DSW per-record"
    assert webir("agency", "record-method", "DSW").output.strip() == "DSW per-record"
    assert webir("agency", "record-method", "DSW", "--count").output.strip() == "DSW count"
    missing = webir("agency", "record-method", "NOPE")
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_r6_6_api_method_is_set_by_the_agency_admin_of_that_agency_only(client, org_db, token_for):
    url = "/api/v1/agencies/DSW/record-method"
    assert client.get(url, headers=token_for("dsw.unit")).get_json() == {"agency": "DSW", "per_record_method": False}
    assert client.put(url, headers=token_for("dsw.unit"), json={"per_record_method": True}).status_code == 403
    assert client.put(url, headers=token_for("daan.admin"), json={"per_record_method": True}).status_code == 404
    assert client.put(url, headers=token_for("dsw.admin"), json={}).status_code == 400
    done = client.put(url, headers=token_for("dsw.admin"), json={"per_record_method": True})
    assert done.status_code == 200 and done.get_json()["per_record_method"] is True
    with org_db.sessions() as session:
        assert session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "agency_record_method_set")) \
            == "dsw.admin"
