"""The modeler's HTML pages through the Flask test client: who sees what, assets, form and cadence previews."""

from __future__ import annotations

import json
import re

from session_helpers import login, token_of

PROCESS = "user_account_application"
CONFIG = re.compile(r'<script type="application/json" id="modeler-config">(.*?)</script>', re.S)


def config_of(page: str) -> dict:
    match = CONFIG.search(page)
    assert match, "page has no modeler config"
    return json.loads(match.group(1))


def post_json(client, path: str, body: dict, page: str = "/modeler"):
    token = token_of(client.get(page).get_data(as_text=True))
    return client.post(path, json=body, headers={"X-CSRFToken": token})


def test_modeler_lists_processes_with_their_versions(client, users):
    login(client, "dsw.staff")
    page = client.get("/modeler").get_data(as_text=True)
    assert f'data-process="{PROCESS}"' in page and f"/modeler/{PROCESS}/versions" in page
    assert "唯讀" in page  # staff may look, not deploy


def test_analyst_gets_the_modeler_and_others_the_viewer(client, users):
    login(client, "dol.analyst")
    page = client.get(f"/modeler/{PROCESS}").get_data(as_text=True)
    config = config_of(page)
    assert "bpmn-modeler.production.min.js" in page and "bpmn-js-properties-panel.umd.js" in page
    assert config["canDeploy"] and config["version"] == 1 and config["bpmnFilename"] == f"{PROCESS}.bpmn"
    assert {"unit_admin", "analyst", "applicant"} <= {r["id"] for r in config["roles"]}
    assert "R5.3" in {c["id"] for c in config["clauses"]} and "forms/form_1_2.schema.json" in config["formFiles"]
    assert 'id="deploy-button"' in page

    login(client, "dsw.admin")
    page = client.get(f"/modeler/{PROCESS}?version=1").get_data(as_text=True)
    assert not config_of(page)["canDeploy"] and "bpmn-navigated-viewer.production.min.js" in page
    assert 'id="deploy-button"' not in page and "readonly-note" in page
    assert client.get("/modeler/no_such_process").status_code == 404
    assert client.get(f"/modeler/{PROCESS}?version=99").status_code == 404


def test_versions_page_offers_roll_back_and_migration_to_deployers_only(client, users):
    login(client, "dsw.admin")
    page = client.get(f"/modeler/{PROCESS}/versions").get_data(as_text=True)
    assert "table class=\"versions\"" in page and "diff-left" in page
    assert "migration-form" not in page and "rollback-button" not in page
    login(client, "dol.admin")
    page = client.get(f"/modeler/{PROCESS}/versions").get_data(as_text=True)
    assert "migration-form" in page
    assert client.get("/modeler/no_such_process/versions").status_code == 404


def test_panel_bundles_are_served_from_node_modules_and_nothing_else(client, users):
    response = client.get("/modeler/assets/bpmn-js-properties-panel/bpmn-js-properties-panel.umd.js")
    assert response.status_code == 200 and b"BpmnPropertiesPanelModule" in response.data
    assert client.get("/modeler/assets/properties-panel/assets/properties-panel.css").status_code == 200
    assert client.get("/modeler/assets/other/index.js").status_code == 404
    assert client.get("/modeler/assets/properties-panel/../package.json").status_code == 404


def test_form_preview_renders_with_the_inbox_renderer(client, users):
    login(client, "dol.analyst")
    schema = {"type": "object", "required": ["reason"], "properties": {
        "reason": {"type": "string", "title": "理由 Reason"},
        "kind": {"type": "string", "title": "種類 Kind", "enum": ["a", "b"]}}}
    response = post_json(client, "/modeler/forms/preview", {"schema": schema, "ui_schema": {"kind": {
        "ui:widget": "radio"}}})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="field-reason"' in html and "理由 Reason" in html and 'type="radio"' in html
    invalid = post_json(client, "/modeler/forms/preview", {"schema": schema, "data": {"kind": "c"}})
    assert "is-invalid" in invalid.get_data(as_text=True)
    broken = post_json(client, "/modeler/forms/preview", {"schema": {"type": "nonsense"}})
    assert broken.status_code == 422 and "Not a valid JSON schema" in broken.get_data(as_text=True)
    assert post_json(client, "/modeler/forms/preview", {"schema": []}).status_code == 400
    assert client.post("/modeler/forms/preview", json={"schema": schema}).status_code == 400  # no CSRF token


def test_form_editor_opens_a_form_of_the_latest_version(client, users):
    login(client, "dol.analyst")
    page = client.get(f"/modeler/forms?process={PROCESS}&file=forms/form_1_2.schema.json").get_data(as_text=True)
    assert 'id="schema-source"' in page and 'id="ui-source"' in page and "forms/form_1_2.uischema.json" in page
    assert '"egov_account"' in page or "egov_account" in page
    assert client.get("/modeler/forms?process=nope").status_code == 404


def test_cadence_preview_lists_the_next_twelve_periods_on_the_calendar(client, users):
    login(client, "dol.analyst")
    page = client.get("/modeler/obligations").get_data(as_text=True)
    assert "monthly_register_check" in page
    monthly = {"id": "monthly_register_check", "clauses": ["R3.3"], "process_id": "monthly_register_check",
               "cadence": "monthly", "opens": {"from": "after_period"},
               "due": {"from": "after_period", "months": 1, "days": -1}, "responsible_role": "unit_admin"}
    body = post_json(client, "/modeler/obligations/preview", {"obligation": monthly, "from": "2027-01-15"},
                     "/modeler/obligations").get_json()
    periods = body["periods"]
    assert len(periods) == 12 and periods[0]["label"] == "2027-01" and periods[-1]["label"] == "2027-12"
    assert periods[0]["opens_at"] == "2027-02-01T00:00:00+08:00"
    assert periods[0]["due_at"] == "2027-02-28T23:59:59+08:00"
    yearly = {**monthly, "cadence": "yearly", "due": {"from": "after_period", "months": 3, "days": -1}}
    body = post_json(client, "/modeler/obligations/preview", {"obligation": yearly, "from": "2027-01-15"},
                     "/modeler/obligations").get_json()
    assert [p["label"] for p in body["periods"]][:2] == ["2027", "2028"] and len(body["periods"]) == 12
    bad = post_json(client, "/modeler/obligations/preview", {"obligation": {**monthly, "cadence": "weekly"}},
                    "/modeler/obligations")
    assert bad.status_code == 422 and "cadence" in bad.get_json()["error"]
