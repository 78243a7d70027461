"""human_task.instance_agency_id is the agency of the task's instance (the inbox's "all" tab reads it instead of
joining the instance): set by the runtime for the rows it creates, and by the column's default for rows inserted
without it."""

from __future__ import annotations

from sqlalchemy import insert, select

from engine import runtime
from engine.models import Agency, HumanTask, ProcessInstance, TaskStatus


def test_runtime_rows_and_rows_inserted_without_it_carry_the_instances_agency(org_db, users):
    iid = runtime.start_instance(org_db, "user_account_application", users["dsw.staff"])
    with org_db.transaction() as session:
        instance = session.get(ProcessInstance, iid)
        created = session.scalars(select(HumanTask).where(HumanTask.instance_id == iid)).all()
        assert created and {t.instance_agency_id for t in created} == {instance.agency_id}
        other = session.scalar(select(Agency.id).where(Agency.id != instance.agency_id))
        template = created[0]
        fields = {"instance_id": iid, "process_id": template.process_id, "name": "extra", "agency_id": other,
                  "status": TaskStatus.READY}
        session.add_all([HumanTask(task_guid=f"orm-{i}", **fields) for i in range(2)])  # one flush, two rows
        session.flush()
        session.execute(insert(HumanTask), [{"task_guid": f"core-{i}", **fields} for i in range(2)])
    with org_db.sessions() as session:
        rows = session.execute(select(HumanTask.task_guid, HumanTask.instance_agency_id)
                               .where(HumanTask.instance_id == iid)).all()
        assert len(rows) == len(created) + 4
        assert {agency for _, agency in rows} == {instance.agency_id}  # the instance's, not the task's agency
