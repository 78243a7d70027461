"""Foreign BPMN conformance: the 43 SpiffArena models run to completion through our own HTTP API.

The corpus is read from ../shared/conformance/ (never copied into the project); without it these tests are
skipped with a clear reason. Every model is deployed in one request, started, its human tasks completed by a
robot with data valid for their forms (form-less tasks get an empty object), and the simulated clock is
moved while it only waits on a timer.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from pathlib import Path

import pytest
from robot_data import data_for


def _corpus() -> Path:
    """WEBIR_CONFORMANCE_DIR, else ../shared/conformance beside the checkout, else this workplace's shared folder."""
    candidates = [os.environ.get("WEBIR_CONFORMANCE_DIR"),
                  Path(__file__).resolve().parents[3] / "shared" / "conformance" / "spiff-arena",
                  Path("/work/shared/conformance/spiff-arena")]
    return next((Path(c) for c in candidates if c and (Path(c) / "manifest.json").exists()), Path(candidates[1]))


CORPUS = _corpus()
MANIFEST = json.loads((CORPUS / "manifest.json").read_text()) if (CORPUS / "manifest.json").exists() else []
DEPLOYABLE = (".bpmn", ".dmn", ".json")
# The sender's form file is not in the corpus; this is the invoice its message payload and correlation name
# (customer_id, po_number), as in SpiffArena's own test of this pair.
MISSING_FORM_DATA = {"invoice_form": {"customer_id": "Sartography", "po_number": 1001,
                                      "amount": "One Billion Dollars", "description": "But seriously."}}
ROLE_HOLDERS = {"user": "dsw.user", "agency_admin": "dsw.admin", "unit_admin": "dsw.unit"}
STARTER = "dsw.staff"
MAX_STEPS = 80


def _files(model: dict) -> list[tuple[str, bytes]]:
    folder = CORPUS / model["dir"]
    return [(name, (folder / name).read_bytes()) for name in model["files"]
            if name.endswith(DEPLOYABLE) and name != "process_model.json"
            and not (name.startswith("test_") and name.endswith(".json"))]


def _deploy(client, headers, model) -> dict:
    files = [(io.BytesIO(content), name) for name, content in _files(model)]
    answer = client.post("/api/v1/process-models", data={"files": files}, headers=headers,
                         content_type="multipart/form-data")
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _complete_ready(client, token_for, instance: dict) -> None:
    task = instance["ready_tasks"][0]
    who = STARTER if task["role"] in (None, "applicant") else ROLE_HOLDERS[task["role"]]
    headers = token_for(who)
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=headers).get_json()
    data = data_for((detail.get("form") or {}).get("schema")) or MISSING_FORM_DATA.get(task["name"], {})
    answer = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data}, headers=headers)
    assert answer.status_code == 200, (task, answer.get_json())


def run_to_end(client, token_for, process_id: str) -> dict:
    """Start the process and act like its users (and like time passing) until it ends."""
    starter = token_for(STARTER)
    answer = client.post("/api/v1/process-instances", json={"process_id": process_id}, headers=starter)
    assert answer.status_code == 201, answer.get_json()
    instance_id = answer.get_json()["id"]
    for _ in range(MAX_STEPS):
        instance = client.get(f"/api/v1/process-instances/{instance_id}", headers=starter).get_json()
        if instance["status"] in ("completed", "error", "cancelled"):
            return instance
        if instance["ready_tasks"]:
            _complete_ready(client, token_for, instance)
        else:
            moved = client.post("/api/v1/clock", json={"advance": "P1D"}, headers=token_for("dol.admin"))
            assert moved.status_code == 200, moved.get_json()
    return instance


@pytest.mark.skipif(not MANIFEST, reason=f"conformance corpus not found at {CORPUS}")
@pytest.mark.parametrize("model", MANIFEST, ids=[m["dir"].split("/")[-1] for m in MANIFEST])
def test_model_runs_to_completion_through_the_api(model, client, token_for, sim_clock):
    sim_clock.set(dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC))
    _deploy(client, token_for("dol.analyst"), model)
    instance = run_to_end(client, token_for, model["process_id"])
    assert instance["status"] == "completed", instance
    if model["tier"] == "messages":  # every instance the messages started must have completed as well
        listing = client.get("/api/v1/process-instances", headers=token_for("dol.admin")).get_json()
        others = [i for i in listing["items"] if i["id"] != instance["id"]]
        assert others and all(i["status"] == "completed" for i in others), others


@pytest.mark.skipif(not MANIFEST, reason=f"conformance corpus not found at {CORPUS}")
def test_model_with_an_unmapped_lane_is_refused_naming_the_lane(client, token_for):
    model = next(m for m in MANIFEST if m["lanes"])
    files = [(io.BytesIO(content), name) for name, content in _files(model) if name != "lanes.json"]
    answer = client.post("/api/v1/process-models", data={"files": files}, headers=token_for("dol.analyst"),
                         content_type="multipart/form-data")
    assert answer.status_code == 422
    assert model["lanes"][0] in json.dumps(answer.get_json(), ensure_ascii=False)
