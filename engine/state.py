"""Workflow state in and out of the database: per instance only the state, the spec once per version."""

from __future__ import annotations

import functools
import json
import zlib
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.models import ProcessVersion
from engine.validation import SERIALIZER

# Its restore helpers rebuild a workflow around cached specs (constructing it re-registers the same
# converter class in the registry, which changes nothing).
_WORKFLOW_CONVERTER = BpmnWorkflowConverter(BpmnWorkflow, SERIALIZER.registry)


@functools.lru_cache(maxsize=256)
def _spec_parts(spec_json: str) -> tuple[dict, dict]:
    stored = json.loads(spec_json)
    return stored["spec"], stored["subprocess_specs"]


@functools.lru_cache(maxsize=256)
def _spec_objects(spec_json: str):
    """Restored spec objects, once per version (specs are definitions: workflows only read them)."""
    spec_dict, subs_dict = _spec_parts(spec_json)
    spec = SERIALIZER.from_dict(json.loads(json.dumps(spec_dict)))
    subs = {name: SERIALIZER.from_dict(json.loads(json.dumps(d))) for name, d in subs_dict.items()}
    return spec, subs


def new_workflow(version: ProcessVersion, script_engine) -> BpmnWorkflow:
    """A fresh workflow of a stored version."""
    spec, subs = _spec_objects(version.spec_json)
    return BpmnWorkflow(spec, dict(subs), script_engine=script_engine)


# The stored state is the workflow's JSON compressed with zlib. Its task tree repeats the same keys, ids and values
# in every task, so it shrinks about eightfold (an instance with a subprocess per account: ~6 KB of JSON per account,
# ~0.8 KB stored), for about 0.3 ms per 50 KB of JSON on a save and a tenth of that on a load. Level 3: nearly the
# size of the default level 6 at a third of its time.
_LEVEL = 3


def encode_state(workflow_json: str) -> bytes:
    """The stored form of a workflow's JSON (process_instance.state)."""
    return zlib.compress(workflow_json.encode(), _LEVEL)


def state_text(state: bytes) -> str:
    """The workflow JSON of a stored state ("" for an instance not yet saved)."""
    return zlib.decompress(state).decode() if state else ""


def dump_state(workflow: BpmnWorkflow) -> bytes:
    """Serialize the workflow without its spec (stored once per version), compressed.

    The same steps as BpmnWorkflowConverter.to_dict minus converting the specs (a third of its time), then
    what serialize_json does with the dictionary.
    """
    registry = SERIALIZER.registry
    registry._encoder_mode = True
    try:
        converter = _WORKFLOW_CONVERTER
        dct = super(BpmnWorkflowConverter, converter).to_dict(workflow)  # WorkflowConverter's: the task tree
        dct["subprocesses"] = converter.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = registry.convert(workflow.bpmn_events)
        dct["typename"] = registry.typenames[workflow.__class__]
        dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
        return encode_state(json.dumps(dct, cls=SERIALIZER._encoder_cls, separators=(",", ":")))
    finally:
        registry._encoder_mode = False


def load_workflow(version: ProcessVersion, state: bytes, script_engine) -> BpmnWorkflow:
    """Restore an instance's workflow from its stored state and its version's (cached) spec objects.

    The same steps as SpiffWorkflow's BpmnWorkflowConverter.from_dict, minus restoring the spec each time.
    """
    dct = json.loads(state_text(state), cls=SERIALIZER.json_decoder_cls)
    SERIALIZER.migrate(dct)
    spec, subs = _spec_objects(version.spec_json)
    converter = _WORKFLOW_CONVERTER
    workflow = BpmnWorkflow(spec, dict(subs), deserializing=True)
    workflow.tasks = converter.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
    converter.set_default_attributes(workflow, dct)
    converter.subprocesses_from_dict(dct["subprocesses"], workflow)
    workflow.bpmn_events = SERIALIZER.registry.restore(dct.pop("bpmn_events", []))
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
