"""The audit log is tamper-evident: any changed, removed or reordered event is found and named."""

from __future__ import annotations

from conftest import CONFIRM, FORM_1_2, GRANT
from sqlalchemy import select, text

from engine import audit, runtime
from engine.models import AuditEvent, HumanTask, TaskStatus


def _run_application(db, users) -> None:
    iid = runtime.start_instance(db, "user_account_application", users["dsw.staff"])
    for who, data in (("dsw.staff", FORM_1_2), ("dsw.unit", CONFIRM), ("dsw.admin", GRANT)):
        with db.sessions() as session:
            task = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                             HumanTask.status == TaskStatus.READY))
        runtime.complete_task(db, task, users[who], data)


def _ids(db) -> list[int]:
    with db.sessions() as session:
        return list(session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def test_untouched_chain_verifies(org_db, users):
    _run_application(org_db, users)
    report = audit.verify(org_db)
    assert report.ok and report.checked == len(_ids(org_db)) > 20


def test_editing_one_row_is_named(org_db, users):
    _run_application(org_db, users)
    victim = _ids(org_db)[-5]
    with org_db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE id = :i"), {"i": victim})
    report = audit.verify(org_db)
    assert report.broken_id == victim and "changed" in report.reason


def test_removing_a_row_breaks_the_next_link(org_db, users):
    _run_application(org_db, users)
    ids = _ids(org_db)
    with org_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :i"), {"i": ids[10]})
    report = audit.verify(org_db)
    assert report.broken_id == ids[11] and "removed" in report.reason


def test_reordering_rows_is_found(org_db, users):
    _run_application(org_db, users)
    a, b = _ids(org_db)[3:5]
    with org_db.engine.begin() as conn:  # swap the content of two events, keeping their ids
        conn.execute(text("UPDATE audit_event SET id = -1 WHERE id = :a"), {"a": a})
        conn.execute(text("UPDATE audit_event SET id = :a WHERE id = :b"), {"a": a, "b": b})
        conn.execute(text("UPDATE audit_event SET id = :b WHERE id = -1"), {"b": b})
    assert audit.verify(org_db).broken_id == a
