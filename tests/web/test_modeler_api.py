"""The modeler's API: versions, strict validation, deploy with a message, diff, roll back, and migration."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from bpmn_edit import Model
from conftest import CONFIRM, FORM_1_2, GRANT

API = "/api/v1"
PROCESS = "user_account_application"
BPMN_NAME = f"{PROCESS}.bpmn"
BUNDLED = Path(__file__).resolve().parents[2] / "bpmn"
BPMN = (BUNDLED / BPMN_NAME).read_text(encoding="utf-8")
HEAD_FORM = json.dumps({"type": "object", "required": ["head_decision"], "properties": {
    "head_decision": {"type": "string", "title": "核定 Decision", "enum": ["approve", "reject"]}}})


def edited(change, xml: str = BPMN) -> str:
    """The bundled BPMN with a structural change applied (by element id: the bundled model keeps growing)."""
    model = Model(xml, PROCESS)
    change(model)
    return model.text()


def structural(change):
    return lambda xml: edited(change, xml)


def out_flow(step: str) -> str:
    return Model(BPMN, PROCESS).flows(source=step)[0].get("id")


def with_head_approval() -> str:
    """The application with an extra approval step: the agency head confirms the review."""
    return edited(lambda m: m.insert_user_task_after("review_application", "head_approval", "agency_head",
                                                     "forms/head_approval.schema.json"))


def upload(files: dict[str, str], message: str | None = "test change") -> dict:
    data = {"files": [(io.BytesIO(text.encode()), name) for name, text in files.items()]}
    if message is not None:
        data["message"] = message
    return data


def deploy(client, headers, files: dict[str, str], message: str = "test change", status: int = 201) -> dict:
    response = client.post(f"{API}/process-models/{PROCESS}/versions", data=upload(files, message),
                           headers=headers, content_type="multipart/form-data")
    assert response.status_code == status, response.get_json()
    return response.get_json()


def deploy_head_approval(client, auth) -> int:
    files = {BPMN_NAME: with_head_approval(), "forms/head_approval.schema.json": HEAD_FORM}
    return deploy(client, auth("dol.analyst"), files, "加上首長核定 Head approval")["version"]


def start(client, headers) -> dict:
    response = client.post(f"{API}/process-instances", json={"process_id": PROCESS}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def complete(client, headers, instance: dict, name: str, data: dict) -> dict:
    task = next(t for t in instance["ready_tasks"] if t["name"] == name)
    response = client.post(f"{API}/tasks/{task['id']}/complete", json={"data": data}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["instance"]


def ready_names(instance: dict) -> list[str]:
    return [t["name"] for t in instance["ready_tasks"]]


def at_review(client, auth, username: str) -> dict:
    instance = start(client, auth(username))
    instance = complete(client, auth(username), instance, "fill_form_1_2", FORM_1_2)
    return complete(client, auth("dsw.unit"), instance, "confirm_business_need", CONFIRM)


def problems_of(response) -> list[dict]:
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid_model"
    return error["details"]["problems"]


def test_deploying_an_extra_approval_step_changes_new_instances_only(client, auth):
    old = at_review(client, auth, "dsw.staff")
    version = deploy_head_approval(client, auth)
    assert version > old["version"]
    new = at_review(client, auth, "dsw.user")
    assert new["version"] == version

    old = complete(client, auth("dsw.admin"), old, "review_application", GRANT)
    assert old["status"] == "completed" and old["version"] < version  # finished on its own version

    new = complete(client, auth("dsw.admin"), new, "review_application", GRANT)
    assert new["status"] == "running" and ready_names(new) == ["head_approval"]
    assert new["ready_tasks"][0]["role"] == "agency_head"
    new = complete(client, auth("dsw.head"), new, "head_approval", {"head_decision": "approve"})
    assert new["status"] == "completed"


def dry_run(client, auth, version: int) -> tuple[dict, dict[int, dict]]:
    response = client.get(f"{API}/process-models/{PROCESS}/migration?to={version}", headers=auth("dol.analyst"))
    assert response.status_code == 200, response.get_json()
    return response.get_json(), {item["instance_id"]: item for item in response.get_json()["items"]}


def test_bulk_migration_dry_run_lists_what_moves_and_what_cannot(client, auth):
    at_form, reviewing = start(client, auth("dsw.staff")), at_review(client, auth, "dsw.user")
    head = deploy_head_approval(client, auth)
    report, items = dry_run(client, auth, head)
    assert report["dry_run"] and report["movable"] == 2 and report["refused"] == 0 and not report["migrated"]
    assert items[at_form["id"]]["restarted"] == ["fill_form_1_2"]
    assert items[reviewing["id"]]["restarted"] == ["review_application"]

    with_head = complete(client, auth("dsw.admin"), at_review(client, auth, "dsw.user"), "review_application", GRANT)
    assert ready_names(with_head) == ["head_approval"] and with_head["version"] == head
    without = deploy(client, auth("dol.analyst"), {BPMN_NAME: BPMN}, "首長核定取消 No head approval")["version"]
    report, items = dry_run(client, auth, without)
    assert report["movable"] == 2 and report["refused"] == 1
    assert {items[at_form["id"]]["can_migrate"], items[reviewing["id"]]["can_migrate"]} == {True}
    refused = items[with_head["id"]]
    assert not refused["can_migrate"] and refused["from_version"] == head and refused["agency"] == "DSW"
    assert f"step 'head_approval' (ready) does not exist in version {without}" in refused["reasons"][0]

    response = client.post(f"{API}/process-models/{PROCESS}/migration", json={"to": without},
                           headers=auth("dol.analyst"))
    assert response.get_json()["migrated"] == 2 and not response.get_json()["dry_run"]
    moved = client.get(f"{API}/process-instances/{at_form['id']}", headers=auth("dsw.staff")).get_json()
    assert moved["version"] == without and ready_names(moved) == ["fill_form_1_2"]
    stayed = client.get(f"{API}/process-instances/{with_head['id']}", headers=auth("dsw.user")).get_json()
    assert stayed["version"] == head
    stayed = complete(client, auth("dsw.head"), stayed, "head_approval", {"head_decision": "approve"})
    assert stayed["status"] == "completed"


def test_an_instance_migrated_to_the_new_version_takes_the_extra_step(client, auth):
    instance = at_review(client, auth, "dsw.staff")
    version = deploy_head_approval(client, auth)
    url = f"{API}/process-instances/{instance['id']}/migration"
    check = client.get(f"{url}?to={version}", headers=auth("dol.analyst")).get_json()
    assert check["can_migrate"] and check["restarted"] == ["review_application"] and not check["migrated"]

    response = client.post(url, json={"to": version}, headers=auth("dol.analyst"))
    assert response.status_code == 200 and response.get_json()["migrated"]
    instance = client.get(f"{API}/process-instances/{instance['id']}", headers=auth("dsw.staff")).get_json()
    assert instance["version"] == version and ready_names(instance) == ["review_application"]
    assert "instance_migrated" in [e["action"] for e in instance["history"]]
    instance = complete(client, auth("dsw.admin"), instance, "review_application", GRANT)
    assert ready_names(instance) == ["head_approval"]

    again = client.post(url, json={"to": version}, headers=auth("dol.analyst"))
    assert again.status_code == 409 and "already runs version" in again.get_json()["error"]["message"]


def test_versions_list_author_time_message_and_content_hash(client, auth):
    version = deploy_head_approval(client, auth)
    response = client.get(f"{API}/process-models/{PROCESS}/versions", headers=auth("dsw.staff"))
    listed = response.get_json()
    assert [v["version"] for v in listed] == [version, 1]
    assert listed[0]["deployed_by"] == "dol.analyst" and listed[0]["message"] == "加上首長核定 Head approval"
    assert len(listed[0]["content_hash"]) == 64 and listed[0]["deployed_at"].endswith("+00:00")
    files = client.get(f"{API}/process-models/{PROCESS}/versions/{version}/files", headers=auth("dsw.staff"))
    by_name = {f["filename"]: f for f in files.get_json()}
    assert not by_name["forms/head_approval.schema.json"]["inherited"]
    assert by_name["forms/form_1_2.schema.json"]["inherited"]
    form = client.get(f"{API}/process-models/{PROCESS}/versions/{version}/files/forms/head_approval.schema.json",
                      headers=auth("dsw.staff"))
    assert form.get_json()["required"] == ["head_decision"]


def test_diff_names_added_removed_and_changed_elements(client, auth):
    head = deploy_head_approval(client, auth)
    diff = client.get(f"{API}/process-models/{PROCESS}/diff", headers=auth("dsw.staff")).get_json()
    assert diff["from"] == 1 and diff["to"] == head
    assert {"head_approval", "flow_head_approval_out", "Lane_agency_head_test"} <= set(diff["added"])
    assert diff["removed"] == [] and out_flow("review_application") in diff["changed"]
    assert "review_application" in diff["changed"]  # its outputs changed
    version = deploy(client, auth("dol.analyst"), {BPMN_NAME: BPMN})["version"]
    diff = client.get(f"{API}/process-models/{PROCESS}/diff?from={head}&to={version}", headers=auth("dsw.staff"))
    diff = diff.get_json()
    assert {"head_approval", "flow_head_approval_out", "Lane_agency_head_test"} <= set(diff["removed"])
    assert diff["added"] == []


def test_diff_marks_a_task_whose_form_changed(client, auth):
    name = "forms/review_application.schema.json"
    form = json.loads((BUNDLED / name).read_text(encoding="utf-8"))
    form["properties"]["second_opinion"] = {"type": "string", "title": "複核意見 Second opinion"}
    version = deploy(client, auth("dol.analyst"), {BPMN_NAME: BPMN, name: json.dumps(form)})["version"]
    diff = client.get(f"{API}/process-models/{PROCESS}/diff?from=1&to={version}", headers=auth("dsw.staff"))
    assert diff.get_json()["changed"] == {"review_application": ["form"]}


def test_roll_back_redeploys_an_old_version_as_a_new_one(client, auth):
    head = deploy_head_approval(client, auth)
    response = client.post(f"{API}/process-models/{PROCESS}/versions/1/redeploy", json={},
                           headers=auth("dol.analyst"))
    assert response.status_code == 201, response.get_json()
    rolled = response.get_json()["version"]
    assert rolled > head and response.get_json()["process_ids"] == [PROCESS]
    diff = client.get(f"{API}/process-models/{PROCESS}/diff?from=1&to={rolled}", headers=auth("dsw.staff"))
    assert diff.get_json()["added"] == diff.get_json()["removed"] == [] and diff.get_json()["changed"] == {}
    listed = client.get(f"{API}/process-models/{PROCESS}/versions", headers=auth("dsw.staff")).get_json()
    assert listed[0]["message"].endswith("Roll back to version 1")
    files = {f["filename"] for f in client.get(f"{API}/process-models/{PROCESS}/versions/{rolled}/files",
                                                 headers=auth("dsw.staff")).get_json()}
    assert files == {BPMN_NAME, "forms/form_1_2.schema.json", "forms/form_1_2.uischema.json",
                     "forms/review_application.schema.json", "forms/review_application.uischema.json",
                     "forms/confirm_business_need.schema.json", "forms/confirm_business_need.uischema.json"}
    instance = at_review(client, auth, "dsw.staff")
    assert instance["version"] == rolled
    assert complete(client, auth("dsw.admin"), instance, "review_application", GRANT)["status"] == "completed"


@pytest.mark.parametrize(("change", "element", "reason"), [
    (structural(lambda m: m.lane_of("review_application").set("name", "no_such_role")), "review_application",
     "lane 'no_such_role'"),
    (structural(lambda m: m.set_property("review_application", "formJsonSchemaFilename",
                                         "forms/missing.schema.json")), "review_application",
     "forms/missing.schema.json"),
    (lambda xml: xml[:4000], "", "not well-formed XML"),
    (structural(lambda m: m.set_property("review_application", "regulation", "R5.3,R99")), "review_application",
     "R99"),
    (structural(lambda m: [m.set_property("review_application", name, None)
                           for name in ("formJsonSchemaFilename", "formUiSchemaFilename")]), "review_application",
     "no form"),
])
def test_invalid_models_are_refused_with_the_element_named(client, auth, change, element, reason):
    files = upload({BPMN_NAME: change(BPMN)})
    problems = problems_of(client.post(f"{API}/process-models/validate", data=files, headers=auth("dol.analyst"),
                                       content_type="multipart/form-data"))
    assert any(p["element"] == element and reason in p["reason"] and p["file"] == BPMN_NAME for p in problems), \
        problems
    if not element:
        assert problems[0]["line"]
    refused = client.post(f"{API}/process-models/{PROCESS}/versions", data=upload({BPMN_NAME: change(BPMN)}),
                          headers=auth("dol.analyst"), content_type="multipart/form-data")
    assert problems_of(refused)
    listed = client.get(f"{API}/process-models/{PROCESS}/versions", headers=auth("dsw.staff")).get_json()
    assert [v["version"] for v in listed] == [1]  # nothing deployed


def test_lint_refuses_bad_timers_and_automatic_loops_and_accepts_a_marked_form_less_task(client, auth):
    timer = edited(lambda m: m.add_fragment(
        '<bpmn:boundaryEvent id="review_reminder" attachedToRef="review_application" cancelActivity="false">'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>"P5X"</bpmn:timeDuration></bpmn:timerEventDefinition>'
        "</bpmn:boundaryEvent>"))
    loop = edited(lambda m: m.add_fragment(
        '<bpmn:exclusiveGateway id="gw_spin" /><bpmn:scriptTask id="spin"><bpmn:script>n = 1</bpmn:script>'
        '</bpmn:scriptTask><bpmn:sequenceFlow id="flow_spin" sourceRef="gw_spin" targetRef="spin" />'
        '<bpmn:sequenceFlow id="flow_spin_back" sourceRef="spin" targetRef="gw_spin" />'))
    formless = edited(lambda m: [m.set_property("review_application", name, value) for name, value in (
        ("formJsonSchemaFilename", None), ("formUiSchemaFilename", None), ("formless", "true"))])
    validate = f"{API}/process-models/validate"
    for xml, element, reason in ((timer, "review_reminder", "not an ISO 8601 duration"),
                                 (loop, "gw_spin", "loop without a user task")):
        problems = problems_of(client.post(validate, data=upload({BPMN_NAME: xml}), headers=auth("dol.analyst"),
                                           content_type="multipart/form-data"))
        assert any(p["element"] == element and reason in p["reason"] for p in problems), problems
    response = client.post(validate, data=upload({BPMN_NAME: formless}), headers=auth("dol.analyst"),
                           content_type="multipart/form-data")
    assert response.status_code == 200 and response.get_json()["valid"], response.get_json()


def test_only_analysts_and_master_admins_may_deploy_validate_or_migrate(client, auth):
    files = upload({BPMN_NAME: with_head_approval(), "forms/head_approval.schema.json": HEAD_FORM})
    for path in ("validate", f"{PROCESS}/versions", f"{PROCESS}/versions/1/redeploy"):
        response = client.post(f"{API}/process-models/{path}", data=files, headers=auth("dsw.admin"),
                               content_type="multipart/form-data")
        assert response.status_code == 403, path
        files = upload({BPMN_NAME: with_head_approval(), "forms/head_approval.schema.json": HEAD_FORM})
    assert client.get(f"{API}/process-models/{PROCESS}/migration?to=1", headers=auth("dsw.admin")).status_code == 403
    assert client.post(f"{API}/process-instances/1/migration", json={"to": 1},
                       headers=auth("dsw.head")).status_code == 403
    deploy(client, auth("dol.admin"), {BPMN_NAME: with_head_approval(),
                                       "forms/head_approval.schema.json": HEAD_FORM}, "master admin may")


def test_deploy_needs_a_message_and_the_named_process(client, auth):
    analyst = auth("dol.analyst")
    response = client.post(f"{API}/process-models/{PROCESS}/versions", data=upload({BPMN_NAME: BPMN}, None),
                           headers=analyst, content_type="multipart/form-data")
    assert response.status_code == 400 and "message" in response.get_json()["error"]["details"]["fields"]
    response = client.post(f"{API}/process-models/account_revocation/versions", data=upload({BPMN_NAME: BPMN}),
                           headers=analyst, content_type="multipart/form-data")
    assert problems_of(response)[0]["element"] == "account_revocation"
    first = deploy(client, analyst, {BPMN_NAME: BPMN})
    again = deploy(client, analyst, {BPMN_NAME: BPMN}, status=200)
    assert again["unchanged"] and again["version"] == first["version"]


def test_modeler_endpoints_answer_404_for_unknown_processes_versions_and_instances(client, auth):
    analyst = auth("dol.analyst")
    assert client.get(f"{API}/process-models/{PROCESS}/migration?to=99", headers=analyst).status_code == 404
    assert client.get(f"{API}/process-instances/999/migration?to=1", headers=analyst).status_code == 404
    assert client.get(f"{API}/process-models/{PROCESS}/migration", headers=analyst).status_code == 400
    assert client.get(f"{API}/process-models/nope/versions", headers=analyst).status_code == 404
    for path in ("versions", "diff", "migration?to=1", "versions/1/files"):  # NUL: PostgreSQL cannot even compare
        response = client.get(f"{API}/process-models/a%00b/{path}", headers=analyst)
        assert response.status_code in (400, 404) and response.get_json()["error"]["code"], path


def test_openapi_lists_the_modeler_paths(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert {"/process-models/{process_id}/versions", "/process-models/validate", "/process-models/{process_id}/diff",
            "/process-models/{process_id}/migration", "/process-instances/{instance_id}/migration"} <= set(paths)
