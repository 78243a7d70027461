"""GET /api/v1/obligations and POST /api/v1/clock as INTERFACES.md describes them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

TAIPEI = dt.timezone(dt.timedelta(hours=8))


def test_obligations_lists_periods_with_status_and_clauses(client, token_for, sim_clock):
    sim_clock.set(dt.datetime(2026, 3, 2, 9, 0, tzinfo=TAIPEI))  # demo agencies were approved 2026-01-01
    answer = client.get("/api/v1/obligations?agency=DSW&year=2026", headers=token_for("dsw.admin"))
    assert answer.status_code == 200
    rows = {(r["obligation"], r["period"]): r for r in answer.get_json()}
    january = rows[("monthly_register_check", "2026-01")]
    assert january["clauses"] == ["R3.3", "R8.1.2"] and january["status"] == "missed"
    assert january["opens_at"] == "2026-02-01T00:00:00+08:00" and january["due_at"] == "2026-02-28T23:59:59+08:00"
    assert rows[("monthly_register_check", "2026-05")]["status"] == "scheduled"


def test_clock_advance_opens_periods_and_they_show_open(client, token_for, sim_clock):
    sim_clock.set(dt.datetime(2026, 1, 15, tzinfo=TAIPEI))
    moved = client.post("/api/v1/clock", json={"advance": "P1M"}, headers=token_for("dol.admin"))
    assert moved.status_code == 200 and moved.get_json()["now"].startswith("2026-02-15")
    assert moved.get_json()["periods_opened"] >= 2  # DSW and DAAN January register checks
    rows = client.get("/api/v1/obligations?agency=DSW", headers=token_for("dsw.admin")).get_json()
    january = next(r for r in rows if (r["obligation"], r["period"]) == ("monthly_register_check", "2026-01"))
    assert january["status"] == "open" and january["instance_id"]


def test_clock_is_for_master_admin_only_and_never_moves_back(client, token_for, sim_clock):
    sim_clock.set(dt.datetime(2026, 1, 15, tzinfo=TAIPEI))
    assert client.post("/api/v1/clock", json={"advance": "P1D"}, headers=token_for("dsw.admin")).status_code == 403
    back = client.post("/api/v1/clock", json={"set": "2025-01-01T00:00:00+08:00"}, headers=token_for("dol.admin"))
    assert back.status_code == 400 and "forward" in back.get_json()["error"]["message"]
    bad = client.post("/api/v1/clock", json={"advance": "soon"}, headers=token_for("dol.admin"))
    assert bad.status_code == 400


def test_clock_on_the_system_clock_cannot_be_moved(client, token_for):
    answer = client.post("/api/v1/clock", json={"advance": "P1D"}, headers=token_for("dol.admin"))
    assert answer.status_code == 409


def test_obligations_of_an_agency_you_may_not_see_is_404(client, token_for, sim_clock):
    sim_clock.set(dt.datetime(2026, 3, 2, tzinfo=TAIPEI))
    assert client.get("/api/v1/obligations?agency=DSW", headers=token_for("daan.admin")).status_code == 404
    own = client.get("/api/v1/obligations?agency=DAAN", headers=token_for("dsw.admin"))  # DSW commissioned DAAN
    assert own.status_code == 200 and {r["agency"] for r in own.get_json()} == {"DAAN"}
    everyone = client.get("/api/v1/obligations", headers=token_for("dol.audit")).get_json()
    assert {r["agency"] for r in everyone} == {"DSW", "DAAN"}


def test_kept_messages_are_listed_for_operators_only(client, token_for, org_db, users):
    from engine import runtime
    from engine.bundle import ModelFile
    from workflows import bundled

    sender = Path(__file__).resolve().parents[1] / "data" / "messages" / "pinger.bpmn"
    with org_db.transaction() as session:
        bundled.deploy_files(session, [ModelFile("pinger.bpmn", sender.read_bytes())], "t", "t")
    runtime.start_instance(org_db, "pinger", users["dsw.staff"])
    assert client.get("/api/v1/messages", headers=token_for("dsw.admin")).status_code == 403
    pending = client.get("/api/v1/messages?status=pending", headers=token_for("dol.admin")).get_json()
    assert pending["total"] == 1 and pending["items"][0]["name"] == "ping"
    assert "no instance is waiting" in pending["items"][0]["last_error"]


def test_moving_the_clock_is_an_audit_event_naming_who(client, token_for, sim_clock, org_db):
    from sqlalchemy import select

    from engine.models import AuditEvent

    sim_clock.set(dt.datetime(2026, 1, 15, tzinfo=TAIPEI))
    client.post("/api/v1/clock", json={"advance": "P1D"}, headers=token_for("dol.admin"))
    with org_db.sessions() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "clock_moved"))
    assert event.actor == "dol.admin" and event.detail["to"] == "2026-01-15T16:00:00+00:00"  # 16 Jan, Taipei
