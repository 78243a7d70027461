"""Parse a bundle with SpiffWorkflow and check what the engine needs: lanes, forms, scripts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import jsonschema
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import ExclusiveGatewayMixin
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.bundle import BPMN_NS, NS, SPIFF_NS, BundleError, ModelBundle, Problem
from engine.duties import RULES_FILE, DutiesError, parse_rules
from engine.obligation_defs import DEFINITIONS_FILE, DefinitionError, parse_definitions
from engine.scripts import ScriptRejected, check_source

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
LANES_FILE = "lanes.json"


@dataclass
class ProcessInfo:
    """What a deployment stores for one process."""

    process_id: str
    name: str
    filename: str
    spec_json: str
    clauses: list[str]
    lane_roles: dict[str, str]
    executable: bool = True
    message_starts: list[str] = field(default_factory=list)


@dataclass
class ParsedBundle:
    processes: dict[str, ProcessInfo] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def process_ids(self) -> list[str]:
        return sorted(self.processes)


def _element_at(root: etree._Element, line: int | None) -> str:
    """The id of the element declared on a line (XSD errors give only the line)."""
    if not line:
        return ""
    for el in root.iter():
        if el.sourceline == line and el.get("id"):
            return el.get("id")
    return ""


def _from_validation(exc: ValidationException, root: etree._Element | None) -> Problem:
    line = exc.line_number if isinstance(exc.line_number, int) else None
    element = exc.id or (_element_at(root, line) if root is not None else "")
    reason = str(exc).split("\n")[0]
    for uri, prefix in ((BPMN_NS, "bpmn:"), (SPIFF_NS, "spiffworkflow:")):
        reason = reason.replace("{" + uri + "}", prefix)
    return Problem(exc.file_name or "", element, reason, line)


def _lane_map(bundle: ModelBundle) -> dict[str, str]:
    lanes = bundle.find(LANES_FILE)
    if lanes is None:
        return {}
    try:
        mapping = json.loads(lanes.text)
    except json.JSONDecodeError as exc:
        raise BundleError([Problem(lanes.filename, "", f"invalid JSON: {exc.msg}", exc.lineno)]) from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise BundleError([Problem(lanes.filename, "", "lanes.json must map lane names to role ids")])
    return mapping


def _duplicate_ids(name: str, root: etree._Element) -> list[Problem]:
    """A BPMN element's id used again (by another element or by an extension such as a service task's
    operator) makes SpiffWorkflow pick the wrong element; extensions may repeat ids among themselves."""
    bpmn_ids: dict[str, int] = {}
    problems = []
    for el in root.iter(f"{{{BPMN_NS}}}*"):
        element_id = el.get("id")
        if element_id in bpmn_ids:
            problems.append(Problem(name, element_id, f"the id '{element_id}' is used twice (lines "
                                    f"{bpmn_ids[element_id]} and {el.sourceline})", el.sourceline))
        elif element_id:
            bpmn_ids[element_id] = el.sourceline
    for el in root.iter(f"{{{SPIFF_NS}}}*"):
        element_id = el.get("id")
        if element_id in bpmn_ids:
            problems.append(Problem(name, element_id, f"the extension on line {el.sourceline} reuses the id of the "
                                    f"BPMN element on line {bpmn_ids[element_id]}; give the element another id",
                                    el.sourceline))
    return problems


def _add_files(parser: SpiffBpmnParser, bundle: ModelBundle) -> None:
    problems = [p for name, root in bundle.xml.items() for p in _duplicate_ids(name, root)]
    if problems:
        raise BundleError(problems)
    for kind in ("dmn", "bpmn"):  # DMN first: business rule tasks look their decisions up while parsing
        for name, root in bundle.xml.items():
            if not name.endswith("." + kind):
                continue
            try:
                if kind == "dmn":
                    parser.add_dmn_xml(root, filename=name)
                else:
                    parser.add_bpmn_xml(etree.ElementTree(root), filename=name)
            except ValidationException as exc:
                problems.append(_from_validation(exc, root))
            except Exception as exc:  # malformed input can fail anywhere inside the parser
                problems.append(Problem(name, "", f"not a valid {kind.upper()} document: {exc}"))
    if problems:
        raise BundleError(problems)


def _all_specs(spec, subprocess_specs):
    yield from spec.task_specs.values()
    for sub in subprocess_specs.values():
        if sub is not None:
            yield from sub.task_specs.values()


def _check_lanes(filename, task_specs, lane_map, known_roles) -> tuple[dict[str, str], list[Problem]]:
    roles, problems = {}, []
    for ts in task_specs:
        lane = getattr(ts, "lane", None)
        if not lane or lane in roles:
            continue
        role = lane_map.get(lane, lane)
        if role in known_roles:
            roles[lane] = role
        else:
            problems.append(Problem(filename, ts.bpmn_id or ts.name,
                                    f"lane '{lane}' is neither a role id nor mapped to one in lanes.json"))
    return roles, problems


def _check_forms(filename, task_specs, bundle, warnings: list[Problem]) -> list[Problem]:
    problems = []
    for ts in task_specs:
        props = (getattr(ts, "extensions", None) or {}).get("properties", {})
        for key in ("formJsonSchemaFilename", "formUiSchemaFilename"):
            name = props.get(key)
            if not name:
                continue
            form = bundle.find(name)
            if form is None:
                # Tolerated (models drawn elsewhere ship without some forms): the task then takes any object.
                warnings.append(Problem(filename, ts.bpmn_id, f"{key} '{name}' is neither deployed nor in "
                                        "the latest deployed version: the task's data will not be validated"))
                continue
            try:
                schema = json.loads(form.text)
                if key == "formJsonSchemaFilename":
                    jsonschema.validators.validator_for(schema).check_schema(schema)
            except json.JSONDecodeError as exc:
                problems.append(Problem(form.filename, ts.bpmn_id, f"invalid JSON: {exc.msg}", exc.lineno))
            except jsonschema.SchemaError as exc:
                problems.append(Problem(form.filename, ts.bpmn_id, f"invalid JSON schema: {exc.message}"))
    return problems


def _scripts_of(ts):
    ext = getattr(ts, "extensions", None) or {}
    for key in ("preScript", "postScript"):
        if ext.get(key):
            yield ext[key], "exec"
    if getattr(ts, "script", None):
        yield ts.script, "exec"
    if isinstance(ts, ExclusiveGatewayMixin) or hasattr(ts, "cond_task_specs"):
        for condition, _target in getattr(ts, "cond_task_specs", []):
            expression = getattr(condition, "args", [None])[0]
            if isinstance(expression, str) and expression.strip():
                yield expression, "eval"


def _check_scripts(filename, task_specs) -> list[Problem]:
    problems = []
    for ts in task_specs:
        for source, mode in _scripts_of(ts):
            try:
                check_source(source.strip() if mode == "eval" else source, mode)
            except ScriptRejected as exc:
                problems.append(Problem(filename, ts.bpmn_id or ts.name, f"script refused: {exc}"))
    return problems


def _clauses(root: etree._Element, process_id: str) -> list[str]:
    process = root.find(f".//bpmn:process[@id='{process_id}']", NS)
    found = set()
    for prop in process.iterfind(".//spiffworkflow:property[@name='regulation']", NS):
        found |= {c.strip() for c in (prop.get("value") or "").split(",") if c.strip()}
    return sorted(found, key=lambda c: [int(x) if x.isdigit() else x for x in c.lstrip("R").split(".")])


def _process_name(root: etree._Element, process_id: str) -> str:
    process = root.find(f".//bpmn:process[@id='{process_id}']", NS)
    if process.get("name"):
        return process.get("name")
    participant = root.find(f".//bpmn:participant[@processRef='{process_id}']", NS)
    return participant.get("name", process_id) if participant is not None else process_id


def _message_starts(spec) -> list[str]:
    """Message names that start this process (its start events with a message definition)."""
    return sorted({ts.event_definition.name for ts in spec.task_specs.values()
                   if isinstance(ts, StartEvent) and isinstance(getattr(ts, "event_definition", None),
                                                                 MessageEventDefinition)})


def _serialize(spec, subprocess_specs) -> str:
    stored = {
        "spec": SERIALIZER.to_dict(spec),
        "subprocess_specs": {k: SERIALIZER.to_dict(v) for k, v in subprocess_specs.items() if v is not None},
    }
    return json.dumps(stored, cls=SERIALIZER._encoder_cls)


def _process_info(parser, bundle, filename, pid, lane_map, known_roles, warnings) -> tuple[ProcessInfo | None, list]:
    root = bundle.xml[filename]
    try:
        spec = parser.get_spec(pid)
        subs = parser.get_subprocess_specs(pid)
    except ValidationException as exc:
        return None, [_from_validation(exc, root)]
    task_specs = list(_all_specs(spec, subs))
    lane_roles, problems = _check_lanes(filename, task_specs, lane_map, known_roles)
    problems += _check_forms(filename, task_specs, bundle, warnings) + _check_scripts(filename, task_specs)
    if problems:
        return None, problems
    executable = root.find(f".//bpmn:process[@id='{pid}']", NS).get("isExecutable", "true") != "false"
    info = ProcessInfo(pid, _process_name(root, pid), filename, _serialize(spec, subs), _clauses(root, pid),
                       lane_roles, executable, _message_starts(spec))
    return info, []


def _check_data_files(bundle: ModelBundle) -> list[Problem]:
    """Calendars and duty rules deployed with the models must parse (they are data an analyst edits)."""
    problems = []
    for filename, parse, error in ((DEFINITIONS_FILE, parse_definitions, DefinitionError),
                                   (RULES_FILE, parse_rules, DutiesError)):
        found = bundle.files.get(filename)
        if found is None or filename in bundle.inherited:
            continue
        try:
            parse(found.text)
        except error as exc:
            problems.append(Problem(found.filename, "", str(exc)))
    return problems


def check_bundle(bundle: ModelBundle, known_roles: set[str]) -> ParsedBundle:
    """Parse every file and check every process the deployed (not inherited) BPMN files define."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    _add_files(parser, bundle)
    lane_map = _lane_map(bundle)
    parsed, problems = ParsedBundle(), []
    for filename, root in bundle.xml.items():
        if not filename.endswith(".bpmn") or filename in bundle.inherited:
            continue
        for pid in sorted(p.get("id") for p in root.iterfind(".//bpmn:process", NS)):
            info, found = _process_info(parser, bundle, filename, pid, lane_map, known_roles, parsed.warnings)
            problems += found
            if info:
                parsed.processes[pid] = info
    problems += _check_data_files(bundle)
    if problems:
        raise BundleError(problems)
    if not parsed.processes:
        raise BundleError([Problem("", "", "the deployment defines no process: deploy forms and DMN "
                                   "tables together with a BPMN file that uses them")])
    return parsed
