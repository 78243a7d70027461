"""Behaviour of REST API v1: the account-application scenario, visibility, authorisation, errors, deploys."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

from conftest import CONFIRM, FORM_1_2, GRANT
from sqlalchemy import event, select, update

from engine.models import ApiToken, User
from workflows.models import AccountApplication

API = "/api/v1"
PROCESS = "user_account_application"
BPMN = Path(__file__).resolve().parents[2] / "bpmn" / f"{PROCESS}.bpmn"


def start(client, headers, process_id: str = PROCESS, **body) -> dict:
    response = client.post(f"{API}/process-instances", json={"process_id": process_id, **body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def complete(client, headers, task_id: int, data):
    return client.post(f"{API}/tasks/{task_id}/complete", json={"data": data}, headers=headers)


def ready(instance: dict, name: str) -> dict:
    return next(t for t in instance["ready_tasks"] if t["name"] == name)


def submitted(client, auth, username: str = "dsw.staff") -> tuple[dict, int]:
    """An application with Form 1-2 filled in; returns the instance and the review task id."""
    instance = start(client, auth(username))
    response = complete(client, auth(username), ready(instance, "fill_form_1_2")["id"], FORM_1_2)
    assert response.status_code == 200, response.get_json()
    confirm = ready(response.get_json()["instance"], "confirm_business_need")["id"]
    response = complete(client, auth("dsw.unit"), confirm, CONFIRM)
    assert response.status_code == 200, response.get_json()
    instance = response.get_json()["instance"]
    return instance, ready(instance, "review_application")["id"]


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    return body["error"]


def deploy(client, headers, files: dict[str, bytes]):
    data = {"files": [(io.BytesIO(content), name) for name, content in files.items()]}
    return client.post(f"{API}/process-models", data=data, headers=headers, content_type="multipart/form-data")


def test_account_application_scripted_scenario_grants_the_user_role(client, auth):
    instance = start(client, auth("dsw.staff"))
    assert instance["status"] == "running" and instance["agency"] == "DSW"
    fill = ready(instance, "fill_form_1_2")
    assert (fill["role"], fill["lane"], fill["assignee"], fill["agency"]) == ("applicant", "applicant",
                                                                               "dsw.staff", "DSW")
    details = client.get(f"{API}/tasks/{fill['id']}", headers=auth("dsw.staff")).get_json()
    assert "purpose" in details["form"]["schema"]["properties"] and details["data"]["applicant"] == "dsw.staff"

    response = complete(client, auth("dsw.staff"), fill["id"], FORM_1_2)
    confirm = ready(response.get_json()["instance"], "confirm_business_need")
    assert (confirm["role"], confirm["assignee"]) == ("unit_admin", None)
    response = complete(client, auth("dsw.unit"), confirm["id"], CONFIRM)
    review = ready(response.get_json()["instance"], "review_application")
    assert (review["role"], review["assignee"]) == ("agency_admin", None)
    inbox = client.get(f"{API}/tasks?scope=mine", headers=auth("dsw.admin")).get_json()
    assert review["id"] in [t["id"] for t in inbox["items"]] and inbox["total"] >= 1
    page = client.get(f"{API}/tasks/{review['id']}", headers=auth("dsw.admin")).get_json()
    assert "tsai.egov" in page["instructions"] and page["form"]["schema"]

    response = complete(client, auth("dsw.admin"), review["id"], GRANT)
    assert response.status_code == 200
    assert response.get_json()["instance"]["status"] == "completed"
    assert response.get_json()["instance"]["ready_tasks"] == []
    assert "user" in client.get(f"{API}/me", headers=auth("dsw.staff")).get_json()["roles"]

    done = client.get(f"{API}/tasks?scope=mine&status=completed", headers=auth("dsw.admin")).get_json()
    assert [(t["id"], t["completed_by"]) for t in done["items"]] == [(review["id"], "dsw.admin")]
    assert re.match(r"\d{4}-\d\d-\d\dT.*[+-]\d\d:\d\d$", done["items"][0]["completed_at"])


def test_completed_task_answers_409_whatever_the_body(client, auth):
    instance, review_id = submitted(client, auth)
    assert complete(client, auth("dsw.admin"), review_id, GRANT).status_code == 200
    assert error_of(complete(client, auth("dsw.admin"), review_id, GRANT), 409)["code"] == "task_not_ready"
    assert error_of(complete(client, auth("dsw.admin"), review_id, {"decision": 7}), 409)
    assert error_of(complete(client, auth("dsw.admin"), review_id, "not an object"), 409)
    broken = client.post(f"{API}/tasks/{review_id}/complete", data="{not json",
                         content_type="application/json", headers=auth("dsw.admin"))
    assert error_of(broken, 409)
    fill_id = next(e["task_id"] for e in client.get(f"{API}/process-instances/{instance['id']}",
                   headers=auth("dsw.staff")).get_json()["history"] if e["action"] == "task_completed")
    assert error_of(complete(client, auth("dsw.staff"), fill_id, {}), 409)


def test_instance_history_and_audit_events_are_in_order(client, auth):
    instance, review_id = submitted(client, auth)
    complete(client, auth("dsw.admin"), review_id, GRANT)
    full = client.get(f"{API}/process-instances/{instance['id']}", headers=auth("dsw.staff")).get_json()
    actions = [e["action"] for e in full["history"]]
    assert actions[0] == "instance_started" and actions.count("task_completed") == 3
    assert actions[-1] == "instance_completed" and full["ended_at"] and full["version"] >= 1
    events = client.get(f"{API}/audit-events?instance_id={instance['id']}", headers=auth("dsw.admin")).get_json()
    assert [e["id"] for e in events] == sorted(e["id"] for e in events) == [e["id"] for e in full["history"]]
    assert error_of(client.get(f"{API}/audit-events", headers=auth("dsw.admin")), 400)


def test_invalid_form_data_answers_422_naming_the_field(client, auth):
    instance = start(client, auth("dsw.staff"))
    fill_id = ready(instance, "fill_form_1_2")["id"]
    missing = {k: v for k, v in FORM_1_2.items() if k != "purpose"}
    error = error_of(complete(client, auth("dsw.staff"), fill_id, missing), 422)
    assert error["code"] == "invalid_data" and "purpose" in error["details"]["fields"]
    bad_date = {**FORM_1_2, "application_date": "2026-13-45"}
    assert "application_date" in error_of(complete(client, auth("dsw.staff"), fill_id, bad_date),
                                          422)["details"]["fields"]
    assert error_of(complete(client, auth("dsw.staff"), fill_id, ["a list"]), 400)["code"] == "bad_request"
    task = client.get(f"{API}/tasks/{fill_id}", headers=auth("dsw.staff")).get_json()
    assert task["status"] == "ready"


def test_vendor_application_is_refused_without_any_review_task(client, auth, org_db):
    instance = start(client, auth("dsw.vendor"))
    assert instance["status"] == "completed" and instance["ready_tasks"] == []
    history = client.get(f"{API}/process-instances/{instance['id']}", headers=auth("dsw.vendor")).get_json()
    assert not [e for e in history["history"] if e["task_id"] is not None]
    every = client.get(f"{API}/tasks?scope=all&status=completed", headers=auth("dsw.admin")).get_json()
    assert instance["id"] not in [t["instance_id"] for t in every["items"]]
    assert "user" not in client.get(f"{API}/me", headers=auth("dsw.vendor")).get_json()["roles"]
    with org_db.sessions() as session:
        filed = session.scalar(select(AccountApplication).where(AccountApplication.instance_id == instance["id"]))
        assert filed.outcome == "refused"


def test_other_agency_admin_gets_404_and_sees_nothing(client, auth):
    instance, review_id = submitted(client, auth)
    daan = auth("daan.admin")
    assert error_of(client.get(f"{API}/tasks/{review_id}", headers=daan), 404)["code"] == "not_found"
    assert error_of(complete(client, daan, review_id, GRANT), 404)
    assert error_of(client.post(f"{API}/tasks/{review_id}/claim", headers=daan), 404)
    assert error_of(client.get(f"{API}/process-instances/{instance['id']}", headers=daan), 404)
    assert error_of(client.get(f"{API}/audit-events?instance_id={instance['id']}", headers=daan), 404)
    for path in ("/tasks?scope=mine", "/tasks?scope=all", "/process-instances"):
        assert client.get(API + path, headers=daan).get_json()["total"] == 0
    assert client.get(f"{API}/process-instances?agency=DSW", headers=daan).get_json() == {
        "items": [], "total": 0, "page": 1, "per_page": 50}
    assert error_of(client.get(f"{API}/tasks/999999", headers=daan), 404)


def test_applicant_may_not_review_their_own_instance(client, auth):
    instance, review_id = submitted(client, auth, "dsw.admin")
    error = error_of(complete(client, auth("dsw.admin"), review_id, GRANT), 403)
    assert error["code"] == "forbidden"
    mine = client.get(f"{API}/tasks?scope=mine", headers=auth("dsw.admin")).get_json()["items"]
    assert review_id not in [t["id"] for t in mine]
    seen = client.get(f"{API}/process-instances/{instance['id']}", headers=auth("dsw.admin")).get_json()
    assert ready(seen, "review_application")["role"] == "agency_admin"
    assert complete(client, auth("dsw.admin2"), review_id, GRANT).status_code == 200


def test_user_without_the_lane_role_gets_403(client, auth):
    _, review_id = submitted(client, auth)
    assert client.get(f"{API}/tasks/{review_id}", headers=auth("dsw.user")).status_code == 200
    assert error_of(complete(client, auth("dsw.user"), review_id, GRANT), 403)
    assert error_of(client.post(f"{API}/tasks/{review_id}/claim", headers=auth("dsw.user")), 403)


def test_claim_and_unclaim(client, auth):
    _, review_id = submitted(client, auth)
    claimed = client.post(f"{API}/tasks/{review_id}/claim", headers=auth("dsw.admin"))
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "dsw.admin"
    assert error_of(complete(client, auth("dsw.admin2"), review_id, GRANT), 403)
    assert error_of(client.post(f"{API}/tasks/{review_id}/unclaim", headers=auth("dsw.admin2")), 403)
    released = client.post(f"{API}/tasks/{review_id}/unclaim", headers=auth("dsw.admin"))
    assert released.get_json()["assignee"] is None
    assert complete(client, auth("dsw.admin2"), review_id, GRANT).status_code == 200
    assert error_of(client.post(f"{API}/tasks/{review_id}/claim", headers=auth("dsw.admin")), 409)


def test_missing_or_bad_credentials_answer_401(client, auth):
    assert error_of(client.get(f"{API}/me"), 401)["code"] == "unauthorized"
    assert error_of(client.get(f"{API}/tasks", headers={"Authorization": "Bearer wbr_nonsense"}), 401)
    assert error_of(client.post(f"{API}/process-instances", json={"process_id": PROCESS},
                                headers={"Authorization": "Basic ZHN3OnB3"}), 401)
    me = client.get(f"{API}/me", headers=auth("dsw.staff")).get_json()
    assert me["username"] == "dsw.staff" and me["agency"] == "DSW" and me["roles"] == []


def test_revoked_token_and_deactivated_user_answer_401(client, auth, org_db):
    staff, admin = auth("dsw.staff"), auth("dsw.admin")
    assert client.get(f"{API}/me", headers=staff).status_code == 200
    with org_db.transaction() as session:
        session.execute(update(ApiToken).where(ApiToken.user_id == _user_id(session, "dsw.staff"))
                        .values(revoked_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC)))
        session.execute(update(User).where(User.username == "dsw.admin").values(is_active=False))
    for headers in (staff, admin):
        error = error_of(client.get(f"{API}/tasks", headers=headers), 401)
        assert error["code"] == "unauthorized" and "revoked" in error["message"]
    assert client.get(f"{API}/me", headers=auth("dsw.unit")).get_json()["username"] == "dsw.unit"


def _user_id(session, username: str) -> int:
    return session.scalar(select(User.id).where(User.username == username))


def test_each_answer_shows_the_instance_as_stored_after_the_write(client, auth):
    """Start and complete answer what a later read of the instance answers (no row read before the write is
    shown stale), the ready tasks with their role, agency and assignee included."""
    staff, unit = auth("dsw.staff"), auth("dsw.unit")
    started = start(client, staff)
    assert started == _without_history(client.get(f"{API}/process-instances/{started['id']}", headers=staff))
    task = ready(started, "fill_form_1_2")
    claimed = client.post(f"{API}/tasks/{task['id']}/claim", headers=staff).get_json()
    assert claimed["assignee"] == "dsw.staff" and claimed["agency"] == "DSW" and claimed["status"] == "ready"
    answer = complete(client, staff, task["id"], FORM_1_2).get_json()["instance"]
    assert answer == _without_history(client.get(f"{API}/process-instances/{started['id']}", headers=unit))
    assert [(t["name"], t["role"], t["agency"], t["assignee"]) for t in answer["ready_tasks"]] == [
        ("confirm_business_need", "unit_admin", "DSW", None)]
    assert answer["started_by"] == "dsw.staff" and answer["status"] == "running"


def test_a_read_request_takes_one_pooled_connection_and_gives_it_back(client, auth, org_db):
    """Authentication and the handler share the request's session: one connection checkout per read, none held
    after the request (a leaked connection would exhaust the pool of a long-running worker)."""
    headers = auth("dsw.unit")
    client.get(f"{API}/me", headers=headers)  # the token is issued and checked once before counting
    checkouts = []
    listener = lambda *args: checkouts.append(1)  # noqa: E731
    event.listen(org_db.engine.pool, "checkout", listener)
    try:
        for path in ("/me", "/tasks", "/tasks?scope=all", "/process-instances"):
            checkouts.clear()
            assert client.get(f"{API}{path}", headers=headers).status_code == 200
            assert len(checkouts) == 1, path
            assert org_db.engine.pool.checkedout() == 0, path
        assert error_of(client.get(f"{API}/tasks", headers={"Authorization": "Bearer wbr_nonsense"}), 401)
        assert org_db.engine.pool.checkedout() == 0
    finally:
        event.remove(org_db.engine.pool, "checkout", listener)


def test_no_request_holds_two_pooled_connections_at_once(client, auth, org_db):
    """The request's session gives its connection back before a write takes one (a threaded server with every
    pooled connection held by requests waiting for a second one would stall)."""
    staff = auth("dsw.staff")
    client.get(f"{API}/me", headers=staff)
    held = []
    listener = lambda *args: held.append(org_db.engine.pool.checkedout())  # noqa: E731
    event.listen(org_db.engine.pool, "checkout", listener)
    try:
        instance = start(client, staff)
        task = ready(instance, "fill_form_1_2")
        assert client.post(f"{API}/tasks/{task['id']}/claim", headers=staff).status_code == 200
        assert complete(client, staff, task["id"], FORM_1_2).status_code == 200
        assert client.get(f"{API}/process-instances/{instance['id']}", headers=staff).status_code == 200
        assert held and max(held) == 1
    finally:
        event.remove(org_db.engine.pool, "checkout", listener)
    assert org_db.engine.pool.checkedout() == 0


def _without_history(response) -> dict:
    assert response.status_code == 200, response.get_json()
    return {k: v for k, v in response.get_json().items() if k != "history"}


def _csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_session_writes_need_the_csrf_header(client):
    token = _csrf_token(client.get("/login").get_data(as_text=True))
    login = client.post("/login", data={"username": "dsw.staff", "password": "demo-pass-2026",
                                        "csrf_token": token})
    assert login.status_code in (302, 303)
    assert client.get(f"{API}/me").get_json()["username"] == "dsw.staff"
    body = {"process_id": PROCESS}
    assert error_of(client.post(f"{API}/process-instances", json=body), 400)["code"] == "csrf_failed"
    assert error_of(client.post(f"{API}/process-instances", json=body, headers={"X-CSRFToken": "forged"}),
                    400)["code"] == "csrf_failed"
    page_token = _csrf_token(client.get("/login").get_data(as_text=True))
    for good in (token, page_token):
        response = client.post(f"{API}/process-instances", json=body, headers={"X-CSRFToken": good})
        assert response.status_code == 201
        assert response.get_json()["started_by"] == "dsw.staff" and response.get_json()["agency"] == "DSW"


def test_deploy_needs_analyst_or_master_admin(client, auth):
    error = error_of(deploy(client, auth("dsw.admin"), {f"{PROCESS}.bpmn": BPMN.read_bytes()}), 403)
    assert error["code"] == "forbidden"
    assert error_of(deploy(client, auth("dol.analyst"), {}), 400)


def _latest(client, headers) -> int:
    models = client.get(f"{API}/process-models", headers=headers).get_json()
    return next(m["version"] for m in models if m["process_id"] == PROCESS)


def test_invalid_models_are_refused_whole_naming_file_and_element(client, auth):
    analyst = auth("dol.analyst")
    before = _latest(client, analyst)
    broken = error_of(deploy(client, analyst, {"broken.bpmn": b"<bpmn:definitions><oops>"}), 422)
    assert broken["code"] == "invalid_model"
    assert broken["details"]["problems"][0]["file"] == "broken.bpmn" and broken["details"]["problems"][0]["line"]
    nobody = BPMN.read_bytes().replace(b'name="agency_admin"', b'name="nobody"')
    error = error_of(deploy(client, analyst, {f"{PROCESS}.bpmn": nobody}), 422)
    problem = error["details"]["problems"][0]
    lane_nodes = {"review_application", "gw_granted", "check_grant_scope", "gw_within_scope", "return_to_review",
                  "set_granted", "set_refused", "record_application", "gw_outcome", "end_granted", "end_refused"}
    assert problem["file"] == f"{PROCESS}.bpmn" and problem["element"] in lane_nodes
    assert "nobody" in problem["reason"]
    dmn = error_of(deploy(client, analyst, {"table.dmn": b"<definitions/>"}), 422)["details"]["problems"]
    assert dmn[0]["file"] == "table.dmn"
    assert _latest(client, analyst) == before


def test_changed_model_deploys_a_new_version_while_running_instances_keep_theirs(client, auth, app):
    running = start(client, auth("dsw.staff"))
    changed = BPMN.read_bytes().replace("填寫申請表 1-2 Fill in Form 1-2".encode(), b"Fill in Form 1-2 (v2)")
    response = deploy(client, auth("dol.admin"), {f"{PROCESS}.bpmn": changed})
    assert response.status_code == 201, response.get_json()
    deployed = response.get_json()
    assert deployed["version"] > running["version"] and deployed["process_ids"] == [PROCESS]
    assert any(name.endswith("form_1_2.schema.json") for name in deployed["inherited"])
    assert _latest(client, auth("dsw.staff")) == deployed["version"]
    again = client.get(f"{API}/process-instances/{running['id']}", headers=auth("dsw.staff")).get_json()
    assert again["version"] == running["version"]
    assert ready(again, "fill_form_1_2")["title"] == "填寫申請表 1-2 Fill in Form 1-2"
    assert complete(client, auth("dsw.staff"), ready(again, "fill_form_1_2")["id"], FORM_1_2).status_code == 200
    fresh = start(client, auth("dsw.staff"))
    assert fresh["version"] == deployed["version"]
    assert ready(fresh, "fill_form_1_2")["title"] == "Fill in Form 1-2 (v2)"
    old_xml = client.get(f"{API}/process-models/{PROCESS}/bpmn?version={running['version']}", headers=auth("dsw.staff"))
    assert old_xml.mimetype == "application/xml" and b"(v2)" not in old_xml.data
    assert b"(v2)" in client.get(f"{API}/process-models/{PROCESS}/bpmn", headers=auth("dsw.staff")).data
    assert error_of(client.get(f"{API}/process-models/{PROCESS}/bpmn?version=999", headers=auth("dsw.staff")), 404)
    assert error_of(client.get(f"{API}/process-models/nope/bpmn", headers=auth("dsw.staff")), 404)


def test_openapi_document_lists_every_path(client):
    document = client.get(f"{API}/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert {"/me", "/process-models", "/process-models/{process_id}/bpmn", "/process-instances",
            "/process-instances/{instance_id}", "/tasks", "/tasks/{task_id}", "/tasks/{task_id}/claim",
            "/tasks/{task_id}/unclaim", "/tasks/{task_id}/complete", "/audit-events"} <= set(document["paths"])
    assert {"Task", "Instance", "Error"} <= set(document["components"]["schemas"])


def test_bad_input_and_unknown_routes_answer_json_errors(client, auth, app):
    staff = auth("dsw.staff")
    assert error_of(client.get(f"{API}/no-such-thing", headers=staff), 404)["code"] == "not_found"
    assert error_of(client.get(f"{API}/tasks/abc", headers=staff), 404)
    assert error_of(client.get(f"{API}/", headers=staff), 404) and error_of(client.get(API, headers=staff), 404)
    assert error_of(client.get(f"{API}/tasks/1/complete", headers=staff), 405)["code"] == "method_not_allowed"
    assert error_of(client.delete(f"{API}/me", headers=staff), 405)
    assert error_of(client.get(f"{API}/tasks?scope=everything", headers=staff), 400)
    assert error_of(client.get(f"{API}/tasks?page=0", headers=staff), 400)
    assert error_of(client.get(f"{API}/process-instances?status=sleeping", headers=staff), 400)
    assert error_of(client.post(f"{API}/process-instances", data="{", content_type="application/json",
                                headers=staff), 400)
    assert error_of(client.post(f"{API}/process-instances", json={"process_id": 3}, headers=staff), 400)
    assert error_of(client.post(f"{API}/process-instances", json={"process_id": PROCESS, "data": [1]},
                                headers=staff), 400)
    assert error_of(client.post(f"{API}/process-instances", json={"process_id": "nope"}, headers=staff), 404)
    assert error_of(client.post(f"{API}/process-instances", json={"process_id": PROCESS, "agency": "DAAN"},
                                headers=staff), 403)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    big = deploy(client, auth("dol.analyst"), {"big.bpmn": b"x" * 4096})
    assert error_of(big, 413)["code"] == "too_large"


def test_unexpected_failures_answer_500_without_a_traceback(client, auth, monkeypatch):
    import web.api.meta

    def explode(*_args):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(web.api.meta, "roles_of", explode)
    error = error_of(client.get(f"{API}/me", headers=auth("dsw.staff")), 500)
    assert error["code"] == "internal_error" and "secret" not in error["message"]
    assert "Traceback" not in client.get(f"{API}/me", headers=auth("dsw.staff")).get_data(as_text=True)
