"""Modeler drafts on the server (one per analyst and process, not deployed, audited) and the catalogue of
deployed process ids, message names and DMN decisions the properties panel picks from."""

from __future__ import annotations

import io

from sqlalchemy import select

from engine.models import AuditEvent, ProcessVersion

API = "/api/v1"
DRAFT = '<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>'
WITH_MESSAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="Message_case_closed" name="case_closed" />
  <bpmn:process id="wait_for_case" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition id="med" messageRef="Message_case_closed" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_draft_is_saved_per_analyst_restored_and_discarded_without_deploying(client, token_for, org_db):
    analyst, admin = token_for("dol.analyst"), token_for("dol.admin")
    url = f"{API}/process-models/password_rotation/draft"
    assert client.get(url, headers=analyst).status_code == 404
    saved = client.put(url, json={"bpmn": DRAFT, "base_version": 1}, headers=analyst)
    assert saved.status_code == 200 and saved.get_json()["base_version"] == 1
    assert client.get(url, headers=analyst).get_json()["bpmn"] == DRAFT
    assert client.get(url, headers=admin).status_code == 404  # each analyst has their own
    client.put(url, json={"bpmn": DRAFT.replace("?>", "?><!-- v2 -->")}, headers=analyst)
    assert "v2" in client.get(url, headers=analyst).get_json()["bpmn"]
    with org_db.sessions() as session:
        versions = session.scalars(select(ProcessVersion.deployment_id).where(
            ProcessVersion.process_id == "password_rotation")).all()
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("model_draft%"))).all()
    assert len(versions) == 1 and actions == ["model_draft_saved", "model_draft_saved"]
    assert client.delete(url, headers=analyst).status_code == 204
    assert client.get(url, headers=analyst).status_code == 404
    assert client.delete(url, headers=analyst).status_code == 404


def test_draft_needs_a_deploy_role_and_a_body(client, token_for):
    url = f"{API}/process-models/password_rotation/draft"
    assert client.put(url, json={"bpmn": DRAFT}, headers=token_for("dsw.admin")).status_code == 403
    empty = client.put(url, json={"bpmn": " "}, headers=token_for("dol.analyst"))
    assert empty.status_code == 400 and "bpmn" in empty.get_json()["error"]["details"]["fields"]
    wrong = client.put(url, json={"bpmn": 5}, headers=token_for("dol.analyst"))
    assert wrong.status_code == 400


def test_catalog_lists_deployed_processes_and_message_names(client, token_for):
    analyst = token_for("dol.analyst")
    deployed = client.post(f"{API}/process-models", headers=analyst, content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(WITH_MESSAGE), "wait_for_case.bpmn")]})
    assert deployed.status_code == 201, deployed.get_json()
    catalog = client.get(f"{API}/process-models/catalog", headers=analyst).get_json()
    ids = [p["process_id"] for p in catalog["processes"]]
    assert {"delegation_consent", "password_rotation", "wait_for_case"} <= set(ids)
    assert "case_closed" in catalog["messages"]
    assert client.get(f"{API}/process-models/catalog", headers=token_for("dsw.user")).status_code == 403
