"""The stored workflow state: what dump_state writes is SpiffWorkflow's own serialization minus the specs (stored
once per version), and a restored workflow saves back to the same bytes, for every process the demo leaves in
flight (subprocesses per account, call activities, timers and messages waiting)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from engine.models import ProcessInstance, ProcessVersion
from engine.scripts import script_engine
from engine.state import SERIALIZER, dump_state, load_workflow, state_text
from workflows import bundled, demo

TAIPEI = dt.timezone(dt.timedelta(hours=8))


def test_every_demo_instance_state_is_spiffworkflows_serialization_without_specs_and_restores_to_itself(db,
                                                                                                     sim_clock):
    sim_clock.set(dt.datetime(2026, 11, 30, 10, 0, tzinfo=TAIPEI))
    with db.transaction() as session:
        bundled.deploy_bundled(session)
        demo.load_demo(session, demo.demo_approval_date(dt.date(2026, 11, 30)))
    demo.start_demo_instances(db)
    with db.sessions() as session:
        instances = session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)).all()
        assert len({i.process_id for i in instances}) >= 6
        with_subprocesses = 0
        for instance in instances:
            version = session.get(ProcessVersion, instance.process_version_id)
            workflow = load_workflow(version, instance.state, script_engine())
            with_subprocesses += bool(workflow.subprocesses)
            assert dump_state(workflow) == instance.state, instance.process_id
            full = json.loads(SERIALIZER.serialize_json(workflow))
            assert set(full.pop("spec")) and full.pop("subprocess_specs") is not None
            assert json.loads(state_text(instance.state)) == full, instance.process_id
        assert with_subprocesses >= 1
