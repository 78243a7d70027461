"""The audit log is tamper-evident: any changed, removed or reordered event is found and named."""

from __future__ import annotations

import threading

from conftest import CONFIRM, FORM_1_2, GRANT
from sqlalchemy import select, text

from engine import audit, runtime
from engine.locking import lock_instance
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


def _links(db) -> list[tuple[str, str]]:
    with db.sessions() as session:
        return [(e.action, e.prev_hash) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_events_of_locked_plain_and_savepoint_transactions_chain_in_order(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    before = len(_ids(org_db))
    with org_db.transaction() as session:  # no instance lock: the first insert takes SQLite's write lock
        audit.record(session, "plain_1", "t")
        audit.record(session, "plain_2", "t")
    with org_db.transaction() as session:  # under an instance lock, with savepoints kept and rolled back
        lock_instance(session, iid)
        audit.record(session, "locked_1", "t", iid)
        with session.begin_nested():
            audit.record(session, "kept_in_savepoint", "t", iid)
        try:
            with session.begin_nested():
                audit.record(session, "rolled_back", "t", iid)
                raise RuntimeError
        except RuntimeError:
            pass
        audit.record(session, "locked_2", "t", iid)
    links = _links(org_db)[before:]
    assert [action for action, _ in links] == ["plain_1", "plain_2", "locked_1", "kept_in_savepoint", "locked_2"]
    report = audit.verify(org_db)
    assert report.ok and report.checked == before + 5


def test_concurrent_completions_of_different_instances_keep_one_chain(org_db, users):
    instances = [runtime.start_instance(org_db, "user_account_application", users["dsw.staff"]) for _ in range(8)]
    tasks = [_ready_task(org_db, iid) for iid in instances]
    errors: list[str] = []
    start = threading.Barrier(len(tasks))

    def complete(task_id: int) -> None:
        start.wait()
        try:
            runtime.complete_task(org_db, task_id, users["dsw.staff"], FORM_1_2)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=complete, args=(t,)) for t in tasks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [action for action, _ in _links(org_db)].count("task_completed") == len(tasks)
    assert audit.verify(org_db).ok


def _ready_task(db, iid) -> int:
    with db.sessions() as session:
        return session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                         HumanTask.status == TaskStatus.READY))
