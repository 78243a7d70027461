"""Corrective-action items (追蹤項目, R8.2) over the API and on their page, and the two audit processes drawn on
the instance page: per role and per agency, overdue marked."""

from __future__ import annotations

import html
import json
import re

from process_walk import new_user, ready, step, user_id
from session_helpers import login
from sqlalchemy import select

from engine import runtime
from engine.models import Agency
from workflows.models_audits import MasterAudit, MasterAuditAgency

PLAN = {"auditor": "master_audit", "selection": "chosen", "agencies": ["DSW", "DAAN"],
        "scope": "查詢紀錄下載 Query-log downloads", "evidence_due_on": "2026-12-15"}
EVIDENCE = {"evidence_references": ["querylog-2026Q3.csv"]}


def _review(overdue: bool, title: str) -> dict:
    return {"result": "deficiencies", "findings": "缺失 Deficiency found", "deficiencies": [f"R8.1.1: {title}"],
            "correction_due_on": "2020-01-31" if overdue else "2099-12-31"}


def _audit_with_items(db, users) -> dict[str, int]:
    """DSW (overdue item) and DAAN (item not yet due) audited; the agency instances by code."""
    new_user(db, "daan.audit", "DAAN", roles=["agency_audit"])
    plan = runtime.start_instance(db, "master_agency_audit", users["dol.audit"])
    step(db, plan, "plan_audit", users["dol.audit"], PLAN)
    with db.sessions() as session:
        audit_id = session.scalar(select(MasterAudit.id).where(MasterAudit.instance_id == plan))
        targets = dict(session.execute(select(Agency.code, MasterAuditAgency.instance_id)
                                       .join(Agency, Agency.id == MasterAuditAgency.agency_id)
                                       .where(MasterAuditAgency.audit_id == audit_id)).all())
    step(db, targets["DSW"], "submit_evidence", users["dsw.audit"], EVIDENCE)
    step(db, targets["DSW"], "review_evidence", users["dol.audit"], _review(True, "DSW 未下載 not downloaded"))
    step(db, targets["DAAN"], "submit_evidence", user_id(db, "daan.audit"), EVIDENCE)
    step(db, targets["DAAN"], "delegating_cooperation", users["dsw.admin"], {"cooperation_statement": "配合稽核 ok"})
    step(db, targets["DAAN"], "review_evidence", users["dol.audit"], _review(False, "DAAN 未下載 not downloaded"))
    return targets


def _codes(client, headers, query="") -> list[str]:
    answer = client.get(f"/api/v1/corrective-actions{query}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return sorted(i["agency"] for i in answer.get_json()["items"])


def test_r8_2_items_are_listed_to_the_master_agency_and_to_each_agency_only_its_own(client, org_db, users,
                                                                                      token_for):
    _audit_with_items(org_db, users)
    assert _codes(client, token_for("dol.audit")) == ["DAAN", "DSW"]
    assert _codes(client, token_for("dol.admin")) == ["DAAN", "DSW"]
    assert _codes(client, token_for("daan.admin")) == ["DAAN"]
    assert _codes(client, token_for("dsw.admin")) == ["DAAN", "DSW"]  # DSW commissioned DAAN (R4.2)
    assert _codes(client, token_for("dsw.admin"), "?agency=dsw") == ["DSW"]
    assert client.get("/api/v1/corrective-actions?agency=DSW", headers=token_for("daan.admin")).status_code == 404
    assert client.get("/api/v1/corrective-actions", headers=token_for("dsw.user")).status_code == 403
    assert client.get("/api/v1/corrective-actions?status=late", headers=token_for("dol.audit")).status_code == 400
    items = client.get("/api/v1/corrective-actions", headers=token_for("dol.audit")).get_json()["items"]
    assert {i["agency"]: i["overdue"] for i in items} == {"DSW": True, "DAAN": False}
    assert {i["clause"] for i in items} == {"R8.1.1"}
    assert "/corrective-actions" in client.get("/api/v1/openapi.json").get_json()["paths"]


def test_r8_2_closed_items_leave_the_open_list(client, org_db, users, token_for):
    targets = _audit_with_items(org_db, users)
    [item_task] = ready(org_db, targets["DSW"])
    runtime.complete_task(org_db, item_task.id, users["dsw.admin"],
                          {"action_taken": "已補下載 downloaded now", "corrected_on": "2026-11-30"})
    assert _codes(client, token_for("dol.audit")) == ["DAAN"]
    closed = client.get("/api/v1/corrective-actions?status=closed", headers=token_for("dol.audit")).get_json()
    assert [(i["agency"], i["status"], i["closed_by"]) for i in closed["items"]] == [("DSW", "closed", "dsw.admin")]


def test_r8_2_page_shows_open_items_overdue_marked_per_agency(client, org_db, users):
    _audit_with_items(org_db, users)
    login(client, "daan.admin")
    page = client.get("/corrective-actions").get_data(as_text=True)
    assert "DAAN 未下載" in page and "DSW 未下載" not in page
    assert "逾期未改善" not in page
    login(client, "dol.audit")
    page = client.get("/corrective-actions").get_data(as_text=True)
    assert "DAAN 未下載" in page and "DSW 未下載" in page and page.count("逾期未改善") == 1
    page = client.get("/corrective-actions?agency=DAAN").get_data(as_text=True)
    assert "DSW 未下載" not in page
    login(client, "dsw.user")  # a WebIR user follows no audit up
    assert client.get("/corrective-actions").status_code == 403



def _action_rows(page: str) -> dict[str, tuple[str, str]]:
    section = page.split('class="card open-actions"', 1)[1].split("</section>", 1)[0]
    return {code: (open_items, overdue) for code, open_items, overdue in re.findall(
        r'data-agency="(\w+)">.*?count-open-actions">(\d+)</td><td class="num count-overdue-actions">(\d+)<',
        section, re.S)}


def test_r8_2_dashboard_counts_open_and_overdue_corrective_actions_per_visible_agency(client, org_db, users):
    login(client, "dol.audit")
    assert _action_rows(client.get("/dashboard").get_data(as_text=True)) == {}
    _audit_with_items(org_db, users)
    assert _action_rows(client.get("/dashboard").get_data(as_text=True)) == {"DSW": ("1", "1"), "DAAN": ("1", "0")}
    login(client, "daan.admin")  # its own agency only
    assert _action_rows(client.get("/dashboard").get_data(as_text=True)) == {"DAAN": ("1", "0")}

def _markers(page: str) -> dict[str, list[str]]:
    return {kind: json.loads(html.unescape(re.search(rf'data-{kind}-tasks="([^"]*)"', page).group(1)))
            for kind in ("ready", "completed")}


def test_r2_3_audit_and_investigation_instances_are_drawn_with_their_tasks(client, org_db, users):
    targets = _audit_with_items(org_db, users)
    login(client, "dol.audit")
    page = client.get(f"/instances/{targets['DSW']}").get_data(as_text=True)
    assert _markers(page)["ready"] == ["close_corrective_item"]
    assert {"submit_evidence", "review_evidence"} <= set(_markers(page)["completed"])
    bpmn = client.get("/api/v1/process-models/master_agency_audit/bpmn").get_data(as_text=True)
    assert 'bpmnElement="close_corrective_item"' in bpmn
    investigation = runtime.start_instance(org_db, "improper_query_investigation", users["dsw.audit"])
    login(client, "dsw.audit")
    page = client.get(f"/instances/{investigation}").get_data(as_text=True)
    assert _markers(page)["ready"] == ["open_case"]


def test_r2_3_plan_and_review_forms_work_in_the_browser_with_one_line_per_entry(client, org_db, users):
    from session_helpers import post

    plan = runtime.start_instance(org_db, "master_agency_audit", users["dol.audit"])
    [plan_task] = ready(org_db, plan)
    login(client, "dol.audit")
    path = f"/tasks/{plan_task.id}"
    page = client.get(path).get_data(as_text=True)
    assert "規劃不定期稽核" in page and 'name="agencies"' in page and 'name="seed"' in page
    answer = post(client, path, {"auditor": "bli", "selection": "chosen", "agencies": "DSW\n",
                                 "scope": "範圍 scope of the audit", "evidence_due_on": "2026-12-15"}, page=path)
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:2000]
    with org_db.sessions() as session:
        record = session.scalar(select(MasterAudit).where(MasterAudit.instance_id == plan))
        target = session.scalar(select(MasterAuditAgency.instance_id).where(MasterAuditAgency.audit_id == record.id))
    assert (record.auditor, record.agencies) == ("bli", ["DSW"])
    step(org_db, target, "submit_evidence", users["dsw.audit"], EVIDENCE)
    [review] = ready(org_db, target)
    path = f"/tasks/{review.id}"
    page = client.get(path).get_data(as_text=True)
    assert "勞保局" in page  # the auditor recorded in the plan shows in the instructions
    post(client, path, {"result": "deficiencies", "findings": "缺失二項 two deficiencies",
                        "deficiencies": "R5.4: 未撤銷 not revoked\n登記簿漏登 missing entries\n",
                        "correction_due_on": "2026-12-31"}, page=path)
    assert [t.name for t in ready(org_db, target)] == ["close_corrective_item"] * 2
