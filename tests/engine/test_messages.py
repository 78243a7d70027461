"""Messages between instances: started by a message start event, kept (visible) when nobody takes them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from engine import runtime, timekeeping
from engine.bundle import ModelFile
from engine.models import HumanTask, InstanceStatus, OutboxMessage, ProcessInstance, ProcessVersion, TaskStatus
from engine.state import load_workflow
from workflows import bundled

DATA = Path(__file__).resolve().parents[1] / "data" / "messages"
SENDER = (DATA / "pinger.bpmn").read_text(encoding="utf-8")
RECEIVER = (DATA / "ponger.bpmn").read_text(encoding="utf-8")


def _deploy(db, name, text):
    with db.transaction() as session:
        bundled.deploy_files(session, [ModelFile(name, text.encode())], "t", "t")


def _outbox(db) -> list[OutboxMessage]:
    with db.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _instances(db, process_id) -> list[ProcessInstance]:
    with db.sessions() as session:
        return list(session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == process_id)))


def test_message_start_event_starts_the_receiving_process_with_the_payload(org_db, users):
    _deploy(org_db, "ponger.bpmn", RECEIVER)
    _deploy(org_db, "pinger.bpmn", SENDER)
    runtime.start_instance(org_db, "pinger", users["dsw.staff"])
    [message] = _outbox(org_db)
    [received] = _instances(org_db, "ponger")
    assert message.delivered_to == received.id and message.payload == {"case": "A-1"}
    assert received.status == InstanceStatus.RUNNING and received.started_by_id == users["dsw.staff"]
    with org_db.sessions() as session:
        workflow = load_workflow(session.get(ProcessVersion, received.process_version_id), received.state,
                                 None)
    assert any(t.data.get("ping") == {"case": "A-1"} for t in workflow.get_tasks())


def test_undeliverable_message_is_kept_visible_and_delivered_once_a_receiver_exists(org_db, users):
    _deploy(org_db, "pinger.bpmn", SENDER)
    sender = runtime.start_instance(org_db, "pinger", users["dsw.staff"])
    [message] = _outbox(org_db)
    assert message.delivered_at is None and "no instance is waiting" in message.last_error
    assert _instances(org_db, "pinger")[0].status == InstanceStatus.COMPLETED
    _deploy(org_db, "ponger.bpmn", RECEIVER)
    timekeeping.run_due_work(org_db)  # the scheduler's sweep retries kept messages
    timekeeping.run_due_work(org_db)
    [message] = _outbox(org_db)
    assert message.delivered_at is not None and message.last_error is None
    assert len(_instances(org_db, "ponger")) == 1 and sender


def test_kept_message_is_delivered_by_the_completion_that_makes_its_receiver_wait(org_db, users):
    _deploy(org_db, "waiter.bpmn", (DATA / "waiter.bpmn").read_text(encoding="utf-8"))
    _deploy(org_db, "pinger.bpmn", SENDER)
    waiter = runtime.start_instance(org_db, "waiter", users["dsw.staff"])
    runtime.start_instance(org_db, "pinger", users["dsw.staff"])
    [message] = _outbox(org_db)
    assert message.delivered_at is None  # the waiter is not at its catch event yet
    with org_db.sessions() as session:
        prepare = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == waiter,
                                                            HumanTask.status == TaskStatus.READY))
    runtime.complete_task(org_db, prepare, users["dsw.staff"], {})
    [message] = _outbox(org_db)
    assert message.delivered_to == waiter and message.last_error is None
    with org_db.sessions() as session:
        ready = session.scalars(select(HumanTask.name).where(HumanTask.instance_id == waiter,
                                                             HumanTask.status == TaskStatus.READY)).all()
    assert ready == ["answer"]
