"""Instance migration at the engine level: what is refused and why, and that a refusal changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine import migration
from engine.bundle import ModelFile
from engine.models import AuditEvent, InstanceStatus, ProcessInstance
from engine.runtime import NotFound, start_instance
from workflows import bundled

PROCESS = "user_account_application"
BPMN = Path(__file__).resolve().parents[2] / "bpmn" / f"{PROCESS}.bpmn"


def _new_version(db) -> int:
    """The same model with a comment added, so its content (and version) differs."""
    xml = BPMN.read_text(encoding="utf-8") + "<!-- next version -->\n"
    with db.transaction() as session:
        return bundled.deploy_files(session, [ModelFile(BPMN.name, xml.encode())], "tester", "test").version


def _set_status(db, instance_id: int, status: InstanceStatus) -> None:
    with db.transaction() as session:
        session.get(ProcessInstance, instance_id).status = status


@pytest.mark.parametrize(("status", "reason"), [
    (InstanceStatus.COMPLETED, "nothing left to migrate"),
    (InstanceStatus.ERROR, "resolve that first"),
    (InstanceStatus.SUSPENDED, "resolve that first"),
])
def test_finished_failed_or_suspended_instances_are_refused(org_db, users, status, reason):
    instance_id = start_instance(org_db, PROCESS, users["dsw.staff"])
    version = _new_version(org_db)
    _set_status(org_db, instance_id, status)
    check = migration.check_instance(org_db, instance_id, version)
    assert not check.can_migrate and reason in check.reasons[0]
    with pytest.raises(migration.MigrationRefused):
        migration.migrate_instance(org_db, instance_id, version, users["dol.analyst"])
    assert migration.instances_on(org_db, PROCESS, None, version) == ([] if status == InstanceStatus.COMPLETED
                                                                      else [instance_id])


def test_a_refused_migration_writes_nothing(org_db, users):
    instance_id = start_instance(org_db, PROCESS, users["dsw.staff"])
    with org_db.sessions() as session:
        before = session.get(ProcessInstance, instance_id)
        version, state = before.process_version_id, before.state
    with pytest.raises(migration.MigrationRefused) as refused:
        migration.migrate_instance(org_db, instance_id, 1, users["dol.analyst"])  # its own version
    assert "already runs version 1" in refused.value.check.reasons[0]
    with org_db.sessions() as session:
        after = session.get(ProcessInstance, instance_id)
        assert (after.process_version_id, after.state) == (version, state)
        assert not session.scalars(select(AuditEvent).where(AuditEvent.action == "instance_migrated")).all()


def test_a_migration_keeps_the_ready_task_row_and_records_who_moved_it(org_db, users):
    instance_id = start_instance(org_db, PROCESS, users["dsw.staff"])
    version = _new_version(org_db)
    check = migration.migrate_instance(org_db, instance_id, version, users["dol.analyst"])
    assert check.migrated and check.restarted == ["fill_form_1_2"]
    with org_db.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance.version == version and instance.status == InstanceStatus.RUNNING
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "instance_migrated")).one()
        assert event.actor == "dol.analyst" and event.detail["to_version"] == version
        assert event.detail["from_version"] == 1


def test_unknown_target_versions_are_not_found(org_db, users):
    instance_id = start_instance(org_db, PROCESS, users["dsw.staff"])
    with pytest.raises(NotFound):
        migration.check_instance(org_db, instance_id, 99)
    with pytest.raises(NotFound):
        migration.check_instance(org_db, 999, 1)
