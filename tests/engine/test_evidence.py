"""The evidence store (R7.1-R7.4, R8.1.5): kept by hash, never overwritten, destroyed only by disposition."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine import evidence, runtime
from engine.models import Agency, EvidenceFile, HumanTask, InstanceStatus, ProcessInstance, TaskStatus

DESTRUCTION = {"destroyed_only_after_3_years": True, "audit_records_retained_3_years": True,
               "personal_data_filed_or_destroyed": True,
               "destruction_list_reference": "府勞秘字第 1160000001 號"}


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path))
    return tmp_path


def _store(db, root, content: bytes, retention="audit_record", agency="DSW") -> EvidenceFile:
    with db.transaction() as session:
        agency_id = session.scalar(select(Agency.id).where(Agency.code == agency))
        return evidence.store(session, root, content, "log.csv", retention, "dsw.audit", agency_id)


@pytest.mark.clause("R8.1.5")
def test_r8_1_5_same_content_is_kept_once_and_read_back_checked(org_db, root):
    first = _store(org_db, root, b"query log 2026-Q1")
    again = _store(org_db, root, b"query log 2026-Q1")
    assert first.id == again.id
    with org_db.sessions() as session:
        row = session.get(EvidenceFile, first.id)
        assert evidence.read(root, row) == b"query log 2026-Q1"
        (root / "evidence" / row.sha256[:2] / row.sha256).write_bytes(b"tampered")
        with pytest.raises(evidence.EvidenceError, match="altered"):
            evidence.read(root, row)


@pytest.mark.clause("R7.3")
def test_r7_3_audit_records_are_kept_three_years(org_db, root, sim_clock):
    sim_clock.set(dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    row = _store(org_db, root, b"audit report")
    assert row.retain_until == dt.date(2029, 5, 1)
    with org_db.transaction() as session:
        with pytest.raises(evidence.EvidenceError, match="kept until 2029-05-01"):
            evidence.destroy(session, root, session.get(EvidenceFile, row.id), "x", 1)


def _ready(db, iid):
    with db.sessions() as session:
        return session.scalars(select(HumanTask).where(HumanTask.instance_id == iid,
                                                       HumanTask.status == TaskStatus.READY)).first()


@pytest.mark.clause("R7.4")
def test_r7_4_disposition_destroys_only_due_files_without_hold_and_records_it(org_db, users, root, sim_clock):
    sim_clock.set(dt.datetime(2022, 1, 10, tzinfo=dt.UTC))
    due = _store(org_db, root, b"old audit record")
    held = _store(org_db, root, b"old log under investigation", retention="query_log")
    with org_db.transaction() as session:
        evidence.set_hold(session, session.get(EvidenceFile, held.id), True, "R6.4 investigation", "dsw.audit")
    sim_clock.set(dt.datetime(2026, 12, 2, tzinfo=dt.UTC))
    recent = _store(org_db, root, b"this year's audit record")
    iid = runtime.start_instance(org_db, "records_disposition", users["dol.admin"], agency_code="DSW",
                                 data={"period": "2026", "due_at": "2026-12-31T23:59:59+08:00"})
    runtime.complete_task(org_db, _ready(org_db, iid).id, users["dsw.admin"], DESTRUCTION)
    runtime.complete_task(org_db, _ready(org_db, iid).id, users["dsw.head"], {"decision": "approve"})
    with org_db.sessions() as session:
        assert session.get(ProcessInstance, iid).status == InstanceStatus.COMPLETED
        rows = {r.id: r for r in session.scalars(select(EvidenceFile))}
    assert rows[due.id].destroyed_in_instance_id == iid and rows[due.id].destroyed_by == "dsw.head"
    assert rows[held.id].destroyed_at is None and rows[recent.id].destroyed_at is None
    assert not (root / "evidence" / due.sha256[:2] / due.sha256).exists()
    assert (root / "evidence" / held.sha256[:2] / held.sha256).exists()


def test_unknown_retention_class_and_empty_files_are_refused(org_db, root):
    with pytest.raises(evidence.EvidenceError, match="retention class"):
        _store(org_db, root, b"x", retention="forever")
    with pytest.raises(evidence.EvidenceError, match="1 byte"):
        _store(org_db, root, b"")
