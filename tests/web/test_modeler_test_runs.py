"""Modeler test runs: the diagram being edited runs on a throwaway instance with its own simulated clock; the
analyst steps through its tasks with sample data and sees the path taken; nothing reaches the real database."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from bpmn_edit import Model
from sqlalchemy import func, select

from engine import clock
from engine.models import AuditEvent, HumanTask, ProcessInstance

API = "/api/v1"
BUNDLED = Path(__file__).resolve().parents[2] / "bpmn"
APPLICATION = (BUNDLED / "user_account_application.bpmn").read_text(encoding="utf-8")
ROTATION = (BUNDLED / "password_rotation.bpmn").read_text(encoding="utf-8")
HEAD_FORM = b'{"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean", "const": true}}}'


def _files(name: str, xml: str, extra: dict[str, bytes] | None = None) -> list:
    return [(io.BytesIO(xml.encode()), name)] + [(io.BytesIO(v), k) for k, v in (extra or {}).items()]


def _start(client, headers, process_id: str, xml: str, extra=None, data: str | None = None):
    form = {"files": _files(f"{process_id}.bpmn", xml, extra), "process_id": process_id}
    if data is not None:
        form["data"] = data
    return client.post(f"{API}/test-runs", data=form, headers=headers, content_type="multipart/form-data")


def _complete_first(client, headers, run: dict, data: dict | None = None):
    task = run["ready_tasks"][0]
    body = {"data": task["sample_data"] if data is None else data}
    return client.post(f"{API}/test-runs/{run['id']}/tasks/{task['id']}/complete", json=body, headers=headers)


def _real_counts(org_db) -> tuple[int, int, int]:
    with org_db.sessions() as session:
        return (session.scalar(select(func.count()).select_from(ProcessInstance)),
                session.scalar(select(func.count()).select_from(HumanTask)),
                session.scalar(select(func.count()).select_from(AuditEvent)))


def test_test_run_walks_an_edited_model_with_sample_data_and_writes_nothing_real(client, token_for, org_db):
    analyst = token_for("dol.analyst")
    before = _real_counts(org_db)
    xml = Model(APPLICATION, "user_account_application")
    xml.insert_user_task_after("review_application", "head_approval", "agency_head", "forms/head_approval.schema.json")
    response = _start(client, analyst, "user_account_application", xml.text(),
                      {"forms/head_approval.schema.json": HEAD_FORM})
    assert response.status_code == 201, response.get_json()
    run = response.get_json()
    assert [t["name"] for t in run["ready_tasks"]] == ["fill_form_1_2"]
    assert run["ready_tasks"][0]["sample_data"]["business_items"]  # a valid Form 1-2 proposed
    names = []
    for _ in range(6):
        if not run["ready_tasks"]:
            break
        names.append(run["ready_tasks"][0]["name"])
        answer = _complete_first(client, analyst, run)
        assert answer.status_code == 200, answer.get_json()
        run = answer.get_json()
    assert "head_approval" in names and names[0] == "fill_form_1_2"
    assert run["status"] == "completed"
    assert run["path"][0] == "start_event" or run["path"][0].startswith("start")
    assert "head_approval" in run["path"] and "review_application" in run["path"]
    assert _real_counts(org_db)[:2] == before[:2]  # no instance, no task in the real database
    assert client.delete(f"{API}/test-runs/{run['id']}", headers=analyst).status_code == 204
    assert client.get(f"{API}/test-runs/{run['id']}", headers=analyst).status_code == 404


def test_test_run_clock_is_its_own_and_fires_the_runs_timers(client, token_for, org_db):
    analyst = token_for("dol.analyst")
    real_now = clock.now()
    data = '{"period": "2027-03-31", "due_at": "2027-04-14T23:59:59+08:00", "opens_at": "2027-03-31T00:00:00+08:00"}'
    run = _start(client, analyst, "password_rotation", ROTATION, data=data).get_json()
    # The run's organisation has one agency_admin and one user tester: each acknowledges for themselves.
    assert sorted(t["assignee"] for t in run["ready_tasks"]) == ["tester.agency_admin", "tester.user"]
    far = client.post(f"{API}/test-runs/{run['id']}/clock", json={"advance": "P900D"}, headers=analyst)
    assert far.status_code == 200, far.get_json()
    run = far.get_json()
    assert {t["name"] for t in run["ready_tasks"]} == {"follow_up_overdue_admin", "follow_up_overdue_user"}
    assert "acknowledgement_overdue" in run["path"]
    assert abs((clock.now() - real_now).total_seconds()) < 600  # the real clock did not move
    bad = client.post(f"{API}/test-runs/{run['id']}/clock", json={"advance": "soon"}, headers=analyst)
    assert bad.status_code == 400


def test_test_run_form_errors_come_back_as_fields(client, token_for):
    analyst = token_for("dol.analyst")
    run = _start(client, analyst, "user_account_application", APPLICATION).get_json()
    answer = _complete_first(client, analyst, run, {})
    assert answer.status_code == 422 and "business_items" in answer.get_json()["error"]["details"]["fields"]


@pytest.mark.parametrize("username", ["dsw.admin", "dsw.user"])
def test_only_analysts_and_master_admins_start_test_runs(client, token_for, username):
    assert _start(client, token_for(username), "user_account_application", APPLICATION).status_code == 403


def test_a_test_run_is_visible_to_its_owner_only(client, token_for):
    run = _start(client, token_for("dol.analyst"), "user_account_application", APPLICATION).get_json()
    assert client.get(f"{API}/test-runs/{run['id']}", headers=token_for("dol.admin")).status_code == 404
    assert client.get(f"{API}/test-runs/not-a-run", headers=token_for("dol.analyst")).status_code == 404


def test_broken_model_is_refused_naming_the_problem(client, token_for):
    answer = _start(client, token_for("dol.analyst"), "user_account_application", "<bpmn:definitions")
    assert answer.status_code == 422 and answer.get_json()["error"]["details"]["problems"]
    missing = _start(client, token_for("dol.analyst"), "another_process", APPLICATION)
    assert missing.status_code == 422
