"""Workflow state in and out of the database: per instance only the state, the spec once per version."""

from __future__ import annotations

import functools
import json

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.models import ProcessVersion
from engine.validation import SERIALIZER


@functools.lru_cache(maxsize=256)
def _spec_parts(spec_json: str) -> tuple[dict, dict]:
    stored = json.loads(spec_json)
    return stored["spec"], stored["subprocess_specs"]


def new_workflow(version: ProcessVersion, script_engine) -> BpmnWorkflow:
    """A fresh workflow of a stored version."""
    spec_dict, subs_dict = _spec_parts(version.spec_json)
    spec = SERIALIZER.from_dict(json.loads(json.dumps(spec_dict)))
    subs = {name: SERIALIZER.from_dict(json.loads(json.dumps(d))) for name, d in subs_dict.items()}
    return BpmnWorkflow(spec, subs, script_engine=script_engine)


def dump_state(workflow: BpmnWorkflow) -> str:
    """Serialize the workflow without its spec (stored once per version)."""
    registry = SERIALIZER.registry
    registry._encoder_mode = True  # what serialize_json does, minus the spec
    try:
        dct = SERIALIZER.to_dict(workflow)
        dct.pop("spec")
        dct.pop("subprocess_specs")
        dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
        return json.dumps(dct, cls=SERIALIZER._encoder_cls)
    finally:
        registry._encoder_mode = False


def load_workflow(version: ProcessVersion, state_json: str, script_engine) -> BpmnWorkflow:
    """Restore an instance's workflow from its state and its version's spec."""
    dct = json.loads(state_json, cls=SERIALIZER.json_decoder_cls)
    spec_dict, subs_dict = _spec_parts(version.spec_json)
    dct["spec"] = json.loads(json.dumps(spec_dict))  # the converter consumes what it is given
    dct["subprocess_specs"] = json.loads(json.dumps(subs_dict))
    SERIALIZER.migrate(dct)
    workflow = SERIALIZER.from_dict(dct)
    workflow.script_engine = script_engine
    return workflow


def dump_event(event) -> str:
    """A thrown BPMN event (message) as JSON, restorable with load_event in another instance."""
    registry = SERIALIZER.registry
    registry._encoder_mode = True
    try:
        return json.dumps(SERIALIZER.to_dict(event), cls=SERIALIZER._encoder_cls)
    finally:
        registry._encoder_mode = False


def load_event(event_json: str):
    return SERIALIZER.from_dict(json.loads(event_json, cls=SERIALIZER.json_decoder_cls))
