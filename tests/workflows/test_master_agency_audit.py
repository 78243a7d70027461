"""master_agency_audit (R2.3, R4.2, R8.2): plan (chosen or sampled with a recorded seed), evidence, review,
corrective-action items tracked until closed; BLI audits recorded with BLI as the auditor."""

from __future__ import annotations

import datetime as dt

import pytest
from process_walk import new_user, ready, ready_names, status, step, task, user_id
from sqlalchemy import select

from engine import runtime
from engine.assignment import NotAllowed
from engine.inspect import task_details
from engine.models import AuditEvent, InstanceStatus, ProcessInstance, ProcessVersion
from engine.scripts import script_engine
from engine.state import load_workflow
from workflows.corrective_actions import list_items
from workflows.master_agency_audit import audit_population, deficiency_parts, sample_agencies
from workflows.models_audits import CorrectiveAction, MasterAudit, MasterAuditAgency

PROCESS = "master_agency_audit"
PLAN = {"auditor": "master_audit", "selection": "chosen", "agencies": ["DSW"],
        "scope": "查詢紀錄下載與登記簿核對 Query-log downloads and register checks", "evidence_due_on": "2026-12-15"}
EVIDENCE = {"evidence_references": ["北市社資字第1150000100號 internal audit 2026-H1", "querylog-2026Q3.csv"]}
REVIEW_DEFICIENT = {"result": "deficiencies", "findings": "二項缺失 Two deficiencies found",
                    "deficiencies": ["R5.4: 離職人員未撤銷權限 Access of a resigned user not revoked",
                                     "登記簿漏登 Register entries missing"],
                    "correction_due_on": "2026-12-31"}
REVIEW_CLEAN = {"result": "no_deficiency", "findings": "無缺失 Nothing found"}
CLOSE = {"action_taken": "已撤銷並補註記 Revoked and annotated", "corrected_on": "2026-12-20"}


def _open(db, users, plan=None, starter="dol.audit") -> int:
    iid = runtime.start_instance(db, PROCESS, users[starter])
    step(db, iid, "plan_audit", users[starter], plan or PLAN)
    return iid


def _audit(db, plan_instance: int) -> MasterAudit:
    with db.sessions() as session:
        return session.scalar(select(MasterAudit).where(MasterAudit.instance_id == plan_instance))


def _agency_instances(db, audit_id: int) -> dict[str, int]:
    from engine.models import Agency

    with db.sessions() as session:
        rows = session.execute(select(Agency.code, MasterAuditAgency.instance_id)
                               .join(Agency, Agency.id == MasterAuditAgency.agency_id)
                               .where(MasterAuditAgency.audit_id == audit_id))
        return dict(rows.all())


def _items(db, status_="all", today=dt.date(2026, 12, 25)) -> list[dict]:
    with db.sessions() as session:
        from engine.models import Agency

        ids = list(session.scalars(select(Agency.id)))
        return list_items(session, ids, status_, today)[0]


def _final_data(db, iid: int) -> dict:
    with db.sessions() as session:
        instance = session.get(ProcessInstance, iid)
        version = session.get(ProcessVersion, instance.process_version_id)
        return load_workflow(version, instance.state, script_engine()).data


def test_r8_2_deficiencies_become_items_each_closed_by_its_own_task(org_db, users):
    plan = _open(org_db, users)
    assert status(org_db, plan) == InstanceStatus.COMPLETED
    record = _audit(org_db, plan)
    assert (record.auditor, record.selection, record.agencies, record.seed) == ("master_audit", "chosen", ["DSW"],
                                                                                None)
    dsw = _agency_instances(org_db, record.id)["DSW"]
    evidence = task(org_db, dsw, "submit_evidence")
    assert (evidence.role, evidence.lane) == ("agency_audit", "agency_audit")
    with pytest.raises(NotAllowed):  # the audited agency's audit team, not its admin
        step(org_db, dsw, "submit_evidence", users["dsw.admin"], EVIDENCE)
    step(org_db, dsw, "submit_evidence", users["dsw.audit"], EVIDENCE)
    with pytest.raises(NotAllowed):  # the master audit team reviews
        step(org_db, dsw, "review_evidence", users["dsw.audit"], REVIEW_CLEAN)
    step(org_db, dsw, "review_evidence", users["dol.audit"], REVIEW_DEFICIENT)
    tasks = ready(org_db, dsw)
    assert [t.name for t in tasks] == ["close_corrective_item", "close_corrective_item"]
    assert {t.role for t in tasks} == {"agency_admin"}
    items = _items(org_db, "open")
    assert [(i["clause"], i["agency"], i["due_on"]) for i in items] == [("R5.4", "DSW", "2026-12-31"),
                                                                          (None, "DSW", "2026-12-31")]
    with org_db.sessions() as session:  # each task names its own item
        shown = [task_details(session, t)["data"]["item"] for t in tasks]
    assert [(i["id"], i["clause"], i["due_on"]) for i in shown] == [(i["id"], i["clause"] or "", i["due_on"])
                                                                    for i in items]
    runtime.complete_task(org_db, tasks[1].id, users["dsw.admin"], CLOSE)
    assert len(_items(org_db, "open")) == 1 and len(_items(org_db, "closed")) == 1  # closed at once, one by one
    assert status(org_db, dsw) == InstanceStatus.RUNNING
    runtime.complete_task(org_db, ready(org_db, dsw)[0].id, users["dsw.admin2"], CLOSE)
    assert status(org_db, dsw) == InstanceStatus.COMPLETED
    closures = [{"id": i["id"], "status": "closed"} for i in items]
    assert _final_data(org_db, dsw)["closures"] == closures[::-1]  # one per item, in the order they closed
    closed = _items(org_db, "closed")
    assert {i["closed_by"] for i in closed} == {"dsw.admin", "dsw.admin2"}
    assert all(i["action_taken"] == CLOSE["action_taken"] for i in closed)
    with org_db.sessions() as session:
        target = session.scalar(select(MasterAuditAgency).where(MasterAuditAgency.instance_id == dsw))
        events = set(session.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == dsw)))
    assert (target.result, target.reviewed_by, len(target.evidence)) == ("deficiencies", "dol.audit", 2)
    assert {"master_audit_evidence_given", "master_audit_reviewed", "corrective_action_closed"} <= events


def test_r8_2_open_item_past_its_due_date_is_overdue(org_db, users):
    plan = _open(org_db, users)
    dsw = _agency_instances(org_db, _audit(org_db, plan).id)["DSW"]
    step(org_db, dsw, "submit_evidence", users["dsw.audit"], EVIDENCE)
    step(org_db, dsw, "review_evidence", users["dol.audit"], REVIEW_DEFICIENT)
    assert not any(i["overdue"] for i in _items(org_db, "open", today=dt.date(2026, 12, 31)))
    assert all(i["overdue"] for i in _items(org_db, "open", today=dt.date(2027, 1, 1)))
    late = {**CLOSE, "corrected_on": "2027-01-05"}
    runtime.complete_task(org_db, ready(org_db, dsw)[0].id, users["dsw.admin"], late)
    [closed] = _items(org_db, "closed", today=dt.date(2027, 1, 6))
    assert (closed["overdue"], closed["closed_late"]) == (False, True)


def test_r8_2_no_deficiency_closes_the_agency_audit(org_db, users):
    plan = _open(org_db, users)
    dsw = _agency_instances(org_db, _audit(org_db, plan).id)["DSW"]
    step(org_db, dsw, "submit_evidence", users["dsw.audit"], {"evidence_file_ids": [12345]})
    with pytest.raises(runtime.FormInvalid):  # deficiencies need their items and a due date
        step(org_db, dsw, "review_evidence", users["dol.audit"], {"result": "deficiencies", "findings": "缺失 found"})
    step(org_db, dsw, "review_evidence", users["dol.audit"], REVIEW_CLEAN)
    assert status(org_db, dsw) == InstanceStatus.COMPLETED
    assert _items(org_db) == []
    with org_db.sessions() as session:
        target = session.scalar(select(MasterAuditAgency).where(MasterAuditAgency.instance_id == dsw))
    assert target.evidence == [{"file_id": 12345, "filename": None, "sha256": None, "found": False}]


def test_r4_2_commissioned_agency_audit_asks_the_delegating_agency_to_cooperate(org_db, users):
    new_user(org_db, "daan.audit", "DAAN", roles=["agency_audit"])
    plan = _open(org_db, users, {**PLAN, "agencies": ["daan"]})
    daan = _agency_instances(org_db, _audit(org_db, plan).id)["DAAN"]
    step(org_db, daan, "submit_evidence", user_id(org_db, "daan.audit"), EVIDENCE)
    cooperation = task(org_db, daan, "delegating_cooperation")
    assert cooperation.role == "delegating_agency"
    with pytest.raises(NotAllowed):  # the commissioned agency's own admin is not the delegating agency
        step(org_db, daan, "delegating_cooperation", users["daan.admin"], {"cooperation_statement": "配合 ok"})
    step(org_db, daan, "delegating_cooperation", users["dsw.admin"],
         {"cooperation_statement": "委託社會救助資格查核，每季督導 Commissioned scope, supervised quarterly",
          "cooperation_references": ["北市社助字第1150000009號"]})
    assert ready_names(org_db, daan) == ["review_evidence"]
    step(org_db, daan, "review_evidence", users["dol.audit"], REVIEW_CLEAN)
    assert status(org_db, daan) == InstanceStatus.COMPLETED
    with org_db.sessions() as session:
        target = session.scalar(select(MasterAuditAgency).where(MasterAuditAgency.instance_id == daan))
    assert target.cooperation["by"] == "dsw.admin" and target.cooperation["references"]


def test_r2_3_random_sample_is_reproducible_from_the_recorded_seed_and_bli_is_recorded(org_db, users):
    plan = _open(org_db, users, {**PLAN, "auditor": "bli", "selection": "random", "sample_size": 1,
                                 "seed": "audit-2026", "agencies": []})
    record = _audit(org_db, plan)
    assert (record.auditor, record.seed, record.population) == ("bli", "audit-2026", ["DAAN", "DSW"])
    assert record.agencies == sample_agencies(record.population, 1, "audit-2026")
    assert set(_agency_instances(org_db, record.id)) == set(record.agencies)
    unseeded = _audit(org_db, _open(org_db, users, {**PLAN, "selection": "random", "sample_size": 2}))
    assert unseeded.seed and unseeded.agencies == sample_agencies(unseeded.population, 2, unseeded.seed)
    with org_db.sessions() as session:
        assert audit_population(session) == ["DAAN", "DSW"]  # XINYI is not approved, DOL is the master


def test_r2_3_same_seed_same_population_draws_the_same_agencies():
    population = [f"A{i:02d}" for i in range(40)]
    assert sample_agencies(population, 5, "s-1") == sample_agencies(list(reversed(population)), 5, "s-1")
    assert sample_agencies(population, 5, "s-1") != sample_agencies(population, 5, "s-2")


def test_r8_2_deficiency_lines_may_start_with_their_clause():
    assert deficiency_parts("R5.4: 未撤銷 not revoked") == ("R5.4", "未撤銷 not revoked")
    assert deficiency_parts("R8.1.1 未下載") == ("R8.1.1", "未下載")
    assert deficiency_parts("登記簿漏登") == (None, "登記簿漏登")


@pytest.mark.parametrize(("starter", "plan", "problem"), [
    ("dsw.audit", PLAN, "Only the master audit team"),
    ("dol.admin", PLAN, "Only the master audit team"),
    ("dol.audit", {**PLAN, "agencies": ["XINYI"]}, "Not an agency that can be audited: XINYI"),
    ("dol.audit", {**PLAN, "agencies": ["NOPE", "DSW"]}, "NOPE"),
    ("dol.audit", {**PLAN, "selection": "random", "sample_size": 3}, "Sample size must be 1 to 2"),
])
def test_r2_3_plan_that_does_not_qualify_opens_nothing(org_db, users, starter, plan, problem):
    iid = _open(org_db, users, plan, starter)
    assert status(org_db, iid) == InstanceStatus.COMPLETED
    data = _final_data(org_db, iid)
    assert data["outcome"] == "not_accepted" and problem in data["refusal_reason"]
    with org_db.sessions() as session:
        assert session.scalar(select(MasterAudit.id)) is None
        assert session.scalar(select(CorrectiveAction.id)) is None


def test_r2_3_task_data_cannot_attach_an_instance_to_an_audit(org_db, users):
    plan = _open(org_db, users)
    record = _audit(org_db, plan)
    with org_db.sessions() as session:
        target = session.scalar(select(MasterAuditAgency.id).where(MasterAuditAgency.audit_id == record.id))
    forged = runtime.start_instance(org_db, PROCESS, users["dsw.audit"], data={"master_audit_agency_id": target})
    assert ready_names(org_db, forged) == ["plan_audit"]


def _state_bytes(db, iid) -> int:
    with db.sessions() as session:
        return len(session.get(ProcessInstance, iid).state)


def _audit_state_with_deficiencies(db, users, count: int) -> tuple[int, int]:
    """Bytes of one agency audit's stored state right after a review listing `count` deficiencies, and once half
    of its items are closed."""
    dsw = _agency_instances(db, _audit(db, _open(db, users)).id)["DSW"]
    step(db, dsw, "submit_evidence", users["dsw.audit"], EVIDENCE)
    line = "R5.4: 離職人員未撤銷權限 Access of a resigned user not revoked (第 {n} 項 item {n})"
    lines = [line.format(n=n) for n in range(count)]
    step(db, dsw, "review_evidence", users["dol.audit"], {**REVIEW_DEFICIENT, "deficiencies": lines})
    reviewed = _state_bytes(db, dsw)
    tasks = ready(db, dsw)
    assert [t.name for t in tasks] == ["close_corrective_item"] * count
    for t in tasks[:count // 2]:
        runtime.complete_task(db, t.id, users["dsw.admin"], CLOSE)
    assert len(ready(db, dsw)) == count - count // 2
    return reviewed, _state_bytes(db, dsw)


def test_r8_2_audit_state_grows_linearly_with_the_deficiencies(org_db, users):
    """Each deficiency's subprocess carries its own item, not the review's item list and deficiency lines (kept
    once, in data objects), so an agency audit's state grows linearly with the deficiencies: about 5.8 KB of JSON
    per deficiency after the review, 6.6 KB once half are closed, stored compressed in about 0.6 KB (20
    deficiencies: 13 KB / 14 KB stored, of 122 KB / 139 KB of JSON; it grew quadratically before: 237 KB / 314 KB
    of JSON)."""
    small = _audit_state_with_deficiencies(org_db, users, 10)
    big = _audit_state_with_deficiencies(org_db, users, 20)
    for before, after in zip(small, big, strict=True):
        assert after / before < 2.5
        assert after < 25 * 1024
        assert (after - before) / 10 < 8 * 1024
        assert after < 150 * 1024
