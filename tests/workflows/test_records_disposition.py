"""records_disposition (R7.1-R7.4): the yearly list of records past retention, the head's approval, destruction
item by item with a disposition record (what, when, who, SHA-256), and legal holds that block destruction."""

from __future__ import annotations

import datetime as dt

import pytest
from process_walk import granted_webir_access, ready, status, step
from sqlalchemy import select

from engine import runtime
from engine.audit import verify
from engine.inspect import task_details
from engine.models import AuditEvent, EvidenceFile, InstanceStatus
from workflows.models import AccountApplication
from workflows.models_disposition import DispositionItem, DispositionStatus, RecordKind
from workflows.models_records import QueryLogRecord
from workflows.query_log import import_query_log
from workflows.records_disposition import form_digest

CONFIRM = {"destroyed_only_after_3_years": True, "audit_records_retained_3_years": True,
           "personal_data_filed_or_destroyed": True, "destruction_list_reference": "銷毀清冊-2030"}
APPROVE = {"decision": "approve"}
RETURN = {"decision": "return", "comment": "保全個案 Keep the case file"}
REVOKE = {"revocation_date": "2026-12-31", "form_annotated": True, "webir_access_removed": True}
LOG = ("查詢時間,查詢者帳號,被查詢人身分證號,查詢項目,案件編號\n"
       "2026-12-01 10:00:00,dsw.user,A123456789,投保資料,C-1\n"
       "2026-12-01 11:00:00,dsw.user,B223456789,投保資料,C-2\n")
TAIPEI = dt.timezone(dt.timedelta(hours=8))


def _revoke(db, users, username: str) -> None:
    iid = runtime.start_instance(db, "account_revocation", users[username])
    step(db, iid, "fill_revocation_request", users[username],
         {"reason_kind": "resigned", "reason": "離職 Resigned", "effective_date": "2026-12-31"})
    step(db, iid, "revoke_account", users["dsw.admin"], REVOKE)


@pytest.fixture
def past(org_db, users, sim_clock, tmp_path, monkeypatch):
    """Records of 2026 (two revoked Form 1-2, an audit record, a query-log file) and one of 2030; clock 2030-12-02."""
    from engine import evidence

    root = tmp_path / "instance"
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(root))
    sim_clock.set(dt.datetime(2026, 12, 20, 9, tzinfo=TAIPEI))
    for username in ("dsw.staff", "dsw.admin2"):
        granted_webir_access(org_db, users, username)
        _revoke(org_db, users, username)
    log = tmp_path / "log.csv"
    log.write_text(LOG, encoding="utf-8")
    assert import_query_log(org_db, log, "DSW", root, actor="dsw.admin").imported == 2
    with org_db.transaction() as session:
        audit_record = evidence.store(session, root, b"2026-H2 audit report", "audit-2026H2.pdf", "audit_record",
                                      "dsw.audit", users_agency(session, "DSW"))
    sim_clock.set(dt.datetime(2030, 12, 2, 9, tzinfo=TAIPEI))
    with org_db.transaction() as session:
        recent = evidence.store(session, root, b"2030-H1 audit report", "audit-2030H1.pdf", "audit_record",
                                "dsw.audit", users_agency(session, "DSW"))
    with org_db.sessions() as session:
        forms = {f.user_id: f for f in session.scalars(select(AccountApplication))}
        log_evidence = session.scalar(select(EvidenceFile).where(EvidenceFile.retention_class == "query_log"))
    return {"root": root, "staff_form": forms[users["dsw.staff"]], "admin2_form": forms[users["dsw.admin2"]],
            "audit": audit_record, "log": log_evidence, "recent": recent}


def users_agency(session, code: str) -> int:
    from engine.models import Agency

    return session.scalar(select(Agency.id).where(Agency.code == code))


def _start(db, users, period: str = "2030") -> int:
    return runtime.start_instance(db, "records_disposition", users["dol.admin"], agency_code="DSW",
                                  data={"period": period, "due_at": f"{period}-12-31T23:59:59+08:00"})


def _items(db, iid) -> dict[tuple[str, int], DispositionItem]:
    with db.sessions() as session:
        rows = session.scalars(select(DispositionItem).where(DispositionItem.instance_id == iid))
        return {(r.record_kind, r.record_id): r for r in rows}


def _hold(db, kind: str, record_id: int, hold: bool, reason: str, actor: str) -> None:
    from workflows.records_disposition import set_legal_hold

    model = AccountApplication if kind == RecordKind.APPLICATION_FORM else EvidenceFile
    with db.transaction() as session:
        set_legal_hold(session, kind, session.get(model, record_id), hold, reason, actor)


@pytest.mark.clause("R7.1", "R7.2", "R7.3", "R7.4")
def test_r7_4_the_yearly_list_shows_forms_audit_records_and_query_logs_past_retention(org_db, users, past):
    iid = _start(org_db, users)
    [task] = ready(org_db, iid)
    assert (task.name, task.role) == ("run_records_destruction", "agency_admin")
    items = _items(org_db, iid)
    assert set(items) == {(RecordKind.APPLICATION_FORM, past["staff_form"].id),
                          (RecordKind.APPLICATION_FORM, past["admin2_form"].id),
                          (RecordKind.EVIDENCE_FILE, past["audit"].id), (RecordKind.EVIDENCE_FILE, past["log"].id)}
    assert all(i.status == DispositionStatus.LISTED for i in items.values())
    assert items[(RecordKind.APPLICATION_FORM, past["staff_form"].id)].retain_until == dt.date(2029, 12, 31)
    with org_db.sessions() as session:
        details = task_details(session, task)
    assert "Past retention: 4" in details["instructions"] and "dsw.staff" in details["instructions"]
    assert "audit-2026H2.pdf" in details["instructions"] and "audit-2030H1.pdf" not in details["instructions"]


@pytest.mark.clause("R7.1", "R7.2", "R7.3", "R7.4")
def test_r7_4_approved_list_is_destroyed_item_by_item_with_what_when_who_and_digest(org_db, users, past):
    with org_db.sessions() as session:
        original_form = dict(session.get(AccountApplication, past["staff_form"].id).form)
    iid = _start(org_db, users)
    step(org_db, iid, "run_records_destruction", users["dsw.admin"], CONFIRM)
    step(org_db, iid, "approve_destruction_list", users["dsw.head"], APPROVE)
    assert status(org_db, iid) == InstanceStatus.COMPLETED
    items = _items(org_db, iid)
    assert {i.status for i in items.values()} == {DispositionStatus.DESTROYED}
    assert all(i.destroyed_by == "dsw.head" and i.destroyed_at is not None for i in items.values())
    staff_item = items[(RecordKind.APPLICATION_FORM, past["staff_form"].id)]
    assert staff_item.sha256 == form_digest(original_form) and original_form["egov_account"] == "tsai.egov"
    assert items[(RecordKind.EVIDENCE_FILE, past["log"].id)].sha256 == past["log"].sha256
    assert items[(RecordKind.EVIDENCE_FILE, past["log"].id)].note.startswith("2 ")
    with org_db.sessions() as session:
        form = session.get(AccountApplication, past["staff_form"].id)
        assert form.form == {} and form.egov_account is None and form.destroyed_at is not None
        subjects = session.scalars(select(QueryLogRecord.subject_id)).all()
        recent = session.get(EvidenceFile, past["recent"].id)
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == iid)).all()
    assert verify(org_db).ok
    assert len(subjects) == 2 and all(s.startswith("#") for s in subjects)
    assert recent.destroyed_at is None  # kept: its three years have not passed
    sha = past["audit"].sha256
    assert not (past["root"] / "evidence" / sha[:2] / sha).exists()
    assert actions.count("application_form_destroyed") == 2 and actions.count("evidence_destroyed") == 2
    assert "disposition_listed" in actions and "disposition_done" in actions


@pytest.mark.clause("R7.2", "R7.3", "R7.4")
def test_legal_hold_blocks_destruction_whether_set_before_listing_or_while_the_list_waits(org_db, users, past):
    _hold(org_db, RecordKind.APPLICATION_FORM, past["admin2_form"].id, True, "訴訟中 Litigation", "dsw.admin")
    iid = _start(org_db, users)
    items = _items(org_db, iid)
    assert items[(RecordKind.APPLICATION_FORM, past["admin2_form"].id)].status == DispositionStatus.HELD
    step(org_db, iid, "run_records_destruction", users["dsw.admin"], CONFIRM)
    _hold(org_db, RecordKind.EVIDENCE_FILE, past["audit"].id, True, "監察院調查 Control Yuan inquiry", "dsw.audit")
    held_item = _items(org_db, iid)[(RecordKind.EVIDENCE_FILE, past["audit"].id)]
    assert (held_item.status, held_item.hold_reason) == (DispositionStatus.HELD, "監察院調查 Control Yuan inquiry")
    step(org_db, iid, "approve_destruction_list", users["dsw.head"], APPROVE)
    items = _items(org_db, iid)
    assert items[(RecordKind.APPLICATION_FORM, past["admin2_form"].id)].status == DispositionStatus.HELD
    assert items[(RecordKind.EVIDENCE_FILE, past["audit"].id)].status == DispositionStatus.HELD
    assert items[(RecordKind.APPLICATION_FORM, past["staff_form"].id)].status == DispositionStatus.DESTROYED
    with org_db.sessions() as session:
        assert session.get(AccountApplication, past["admin2_form"].id).form["egov_account"] == "tsai.egov"
        assert session.get(EvidenceFile, past["audit"].id).destroyed_at is None
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.in_(("legal_hold_set", "evidence_hold"))))
        assert {(e.action, e.actor) for e in events} == {("legal_hold_set", "dsw.admin"),
                                                          ("evidence_hold", "dsw.audit")}
    sha = past["audit"].sha256
    assert (past["root"] / "evidence" / sha[:2] / sha).exists()


@pytest.mark.clause("R7.4")
def test_a_returned_list_is_listed_again_and_a_released_hold_is_destroyed_next(org_db, users, past):
    _hold(org_db, RecordKind.APPLICATION_FORM, past["staff_form"].id, True, "調查中 Under investigation", "dsw.audit")
    iid = _start(org_db, users)
    step(org_db, iid, "run_records_destruction", users["dsw.admin"], CONFIRM)
    step(org_db, iid, "approve_destruction_list", users["dsw.head"], RETURN)
    _hold(org_db, RecordKind.APPLICATION_FORM, past["staff_form"].id, False, "調查結束 Investigation closed",
          "dsw.audit")
    [task] = ready(org_db, iid)
    assert task.name == "run_records_destruction"
    assert _items(org_db, iid)[(RecordKind.APPLICATION_FORM, past["staff_form"].id)].status == DispositionStatus.LISTED
    step(org_db, iid, "run_records_destruction", users["dsw.admin"], CONFIRM)
    step(org_db, iid, "approve_destruction_list", users["dsw.head"], APPROVE)
    assert len(_items(org_db, iid)) == 4  # listed again, not twice
    assert _items(org_db, iid)[(RecordKind.APPLICATION_FORM, past["staff_form"].id)].status == \
        DispositionStatus.DESTROYED


@pytest.mark.clause("R7.4")
def test_a_record_destroyed_by_another_disposition_meanwhile_is_not_destroyed_twice(org_db, users, past):
    first, second = _start(org_db, users, "2030"), _start(org_db, users, "2031")
    for iid in (first, second):
        step(org_db, iid, "run_records_destruction", users["dsw.admin"], CONFIRM)
    step(org_db, first, "approve_destruction_list", users["dsw.head"], APPROVE)
    step(org_db, second, "approve_destruction_list", users["dsw.head"], APPROVE)
    assert {i.status for i in _items(org_db, first).values()} == {DispositionStatus.DESTROYED}
    later = _items(org_db, second)
    assert {i.status for i in later.values()} == {DispositionStatus.KEPT}
    assert all("already destroyed" in i.note and i.sha256 is None for i in later.values())


def test_a_hold_needs_a_reason_and_a_destroyed_record_takes_none(org_db, users, past):
    from workflows.records_disposition import DispositionError

    with pytest.raises(DispositionError, match="reason"):
        _hold(org_db, RecordKind.APPLICATION_FORM, past["staff_form"].id, True, "  ", "dsw.admin")
    iid = _start(org_db, users)
    step(org_db, iid, "run_records_destruction", users["dsw.admin"], CONFIRM)
    step(org_db, iid, "approve_destruction_list", users["dsw.head"], APPROVE)
    with pytest.raises(DispositionError, match="destroyed"):
        _hold(org_db, RecordKind.EVIDENCE_FILE, past["audit"].id, True, "too late", "dsw.audit")


@pytest.mark.clause("R7.2", "R7.4")
def test_r7_2_paper_form_counts_are_optional_and_shown_to_the_head(org_db, users, past):
    iid = _start(org_db, users)
    step(org_db, iid, "run_records_destruction", users["dsw.admin"], {**CONFIRM, "forms_reviewed": 5,
                                                                     "forms_destroyed": 2})
    [approval] = ready(org_db, iid)
    with org_db.sessions() as session:
        details = task_details(session, approval)
    assert "Paper forms reviewed / destroyed: 5 / 2" in details["instructions"]
    assert "To destroy: 4" in details["instructions"] and "銷毀清冊-2030" in details["instructions"]
    with pytest.raises(runtime.FormInvalid) as invalid:
        runtime.complete_task(org_db, approval.id, users["dsw.head"], {"decision": "return"})
    assert "comment" in invalid.value.fields
