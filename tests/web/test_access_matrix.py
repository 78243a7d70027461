"""The access matrix: every demo role x every API endpoint x own / commissioned / other agency.

Expected answers: 2xx when allowed, 403 when the object is visible but the action is not yours, 404 when
the object belongs to an agency you may not see (never reveal another agency's objects).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import runtime
from engine.models import HumanTask, TaskStatus

USERS = ("dol.admin", "dol.audit", "dol.analyst", "dsw.admin", "dsw.unit", "dsw.audit", "dsw.head", "dsw.user",
         "dsw.staff", "dsw.vendor", "daan.admin", "daan.staff")
MASTER = {"dol.admin", "dol.audit"}
DEPLOYERS = {"dol.admin", "dol.analyst"}
BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "user_account_application.bpmn"


def _sees_dsw(user: str) -> bool:
    """DSW's own staff, the master agency's roles; DAAN does not see DSW (DSW commissioned DAAN, not back)."""
    return user.startswith("dsw.") or user in MASTER


def _sees_daan(user: str) -> bool:
    """DAAN's staff, the master agency's roles, and DSW's admin and head (DSW commissioned DAAN)."""
    return user.startswith("daan.") or user in MASTER or user in ("dsw.admin", "dsw.head")


@pytest.fixture
def world(org_db, users, token_for, sim_clock):
    """One DSW application and one DAAN application, each waiting at the applicant's Form 1-2."""
    sim_clock.set(dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    dsw = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    daan = runtime.start_instance(org_db, "user_account_application", users["daan.staff"])
    with org_db.sessions() as session:
        def ready(iid):
            return session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                             HumanTask.status == TaskStatus.READY))
        tasks = {"DSW": ready(dsw), "DAAN": ready(daan)}
    return {"instances": {"DSW": dsw, "DAAN": daan}, "tasks": tasks,
            "headers": {u: token_for(u) for u in USERS}}


def _expect_visible(user: str, agency: str) -> int:
    return 200 if (_sees_dsw(user) if agency == "DSW" else _sees_daan(user)) else 404


@pytest.mark.parametrize("user", USERS)
def test_reading_instances_tasks_history_and_obligations(client, world, user):
    headers = world["headers"][user]
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.get("/api/v1/process-models", headers=headers).status_code == 200
    for agency in ("DSW", "DAAN"):
        want = _expect_visible(user, agency)
        iid, tid = world["instances"][agency], world["tasks"][agency]
        assert client.get(f"/api/v1/process-instances/{iid}", headers=headers).status_code == want, agency
        assert client.get(f"/api/v1/tasks/{tid}", headers=headers).status_code == want, agency
        assert client.get(f"/api/v1/audit-events?instance_id={iid}", headers=headers).status_code == want
        assert client.get(f"/api/v1/obligations?agency={agency}", headers=headers).status_code == want
    listed = {i["agency"] for i in client.get("/api/v1/process-instances", headers=headers).get_json()["items"]}
    assert listed == {a for a in ("DSW", "DAAN") if _expect_visible(user, a) == 200}


@pytest.mark.parametrize("user", USERS)
def test_completing_claiming_the_applicants_step(client, world, user):
    headers = world["headers"][user]
    for agency, starter in (("DSW", "dsw.staff"), ("DAAN", "daan.staff")):
        tid = world["tasks"][agency]
        visible = _expect_visible(user, agency) == 200
        want = 404 if not visible else (200 if user == starter else 403)
        answer = client.post(f"/api/v1/tasks/{tid}/claim", headers=headers)
        assert answer.status_code == want, (agency, answer.get_json())
        bad = client.post(f"/api/v1/tasks/{tid}/complete", json={"data": {}}, headers=headers)
        assert bad.status_code == (422 if want == 200 else want), agency  # the starter may act: form invalid


@pytest.mark.parametrize("user", USERS)
def test_operator_endpoints(client, world, user):
    headers = world["headers"][user]
    upload = {"files": [(io.BytesIO(BPMN.read_bytes().replace(b"P5D", b"P9D")), "user_account_application.bpmn")]}
    deploy = client.post("/api/v1/process-models", data=upload, headers=headers, content_type="multipart/form-data")
    assert deploy.status_code == (201 if user in DEPLOYERS else 403)
    clock = client.post("/api/v1/clock", json={"advance": "PT1H"}, headers=headers)
    assert clock.status_code == (200 if user == "dol.admin" else 403)
    messages = client.get("/api/v1/messages", headers=headers)
    assert messages.status_code == (200 if user in DEPLOYERS else 403)


def test_nobody_without_credentials_gets_anything(client, world):
    for path in ("/api/v1/me", "/api/v1/process-models", "/api/v1/process-instances", "/api/v1/tasks",
                 f"/api/v1/tasks/{world['tasks']['DSW']}", "/api/v1/obligations", "/api/v1/messages"):
        assert client.get(path).status_code == 401, path
