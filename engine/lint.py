"""The modeler's stricter checks, on top of what every deploy checks (engine/validation.py).

A model edited in the browser must be complete: every user task has a form (or says it has none), timers
parse, clause ids exist, and no loop can spin without a person or an event pacing it (SpiffWorkflow stalls
past a few hundred passes of a gateway loop).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.bundle import NS, ModelBundle, Problem
from engine.validation import ParsedBundle

FORMLESS_PROPERTY = "formless"  # <spiffworkflow:property name="formless" value="true"/>: no form, on purpose
TIMER_KINDS = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}
# Elements that wait for a person or an event, so a loop through them cannot spin on its own.
PACING = {"userTask", "manualTask", "receiveTask", "intermediateCatchEvent", "callActivity", "subProcess"}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _properties(el: etree._Element) -> dict[str, str]:
    found = el.find("bpmn:extensionElements/spiffworkflow:properties", NS)
    if found is None:
        return {}
    return {p.get("name"): p.get("value") or "" for p in found.iterfind("spiffworkflow:property", NS)}


def _forms(filename: str, root: etree._Element) -> list[Problem]:
    problems = []
    for task in root.iterfind(".//bpmn:userTask", NS):
        props = _properties(task)
        if props.get("formJsonSchemaFilename") or props.get(FORMLESS_PROPERTY, "").lower() == "true":
            continue
        problems.append(Problem(filename, task.get("id"), "user task has no form: name a form file "
                                "(formJsonSchemaFilename) or mark it form-less", task.sourceline))
    return problems


def timer_problem(kind: str, expression: str) -> str | None:
    """Why a timer expression cannot work, or None (expressions naming task data are checked when run)."""
    try:
        value = ast.literal_eval(expression.strip())
    except (ValueError, SyntaxError):
        try:
            compile(expression.strip(), "<timer>", "eval")
        except SyntaxError as exc:
            return f"timer expression is not valid: {exc.msg}"
        return None
    if not isinstance(value, str):
        return "timer expression must give an ISO 8601 string, e.g. \"P5D\""
    parse = {"date": TimerEventDefinition.get_datetime, "duration": TimerEventDefinition.parse_iso_duration,
             "cycle": TimerEventDefinition.parse_iso_recurring_interval}[kind]
    try:
        parse(value)
    except Exception:  # SpiffWorkflow raises bare Exception (and ValueError, AttributeError) on bad input
        return f"'{value}' is not an ISO 8601 {kind}"
    return None


def _timers(filename: str, root: etree._Element) -> list[Problem]:
    problems = []
    for definition in root.iterfind(".//bpmn:timerEventDefinition", NS):
        event = definition.getparent()
        for child in definition:
            kind = TIMER_KINDS.get(_local(child)) if isinstance(child.tag, str) else None
            reason = timer_problem(kind, child.text or "") if kind else None
            if kind and not (child.text or "").strip():
                reason = "timer has no expression"
            if reason:
                problems.append(Problem(filename, event.get("id"), reason, child.sourceline))
    return problems


def _clause_ids(root: etree._Element) -> Iterable[tuple[etree._Element, str]]:
    for prop in root.iterfind(".//spiffworkflow:property[@name='regulation']", NS):
        owner = prop.getparent().getparent().getparent()  # property < properties < extensionElements < element
        for clause in (prop.get("value") or "").split(","):
            if clause.strip():
                yield owner, clause.strip()


def _clauses(filename: str, root: etree._Element, known: set[str]) -> list[Problem]:
    return [Problem(filename, owner.get("id") or "", f"clause '{clause}' is not a clause of the regulation",
                    owner.sourceline) for owner, clause in _clause_ids(root) if clause not in known]


def _reach(graph: dict[str, list[str]], start: str) -> set[str]:
    seen, todo = set(), list(graph.get(start, []))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += graph.get(node, [])
    return seen


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The groups of nodes that reach each other (models are small: plain reachability is enough)."""
    reach = {node: _reach(graph, node) for node in graph}
    found, done = [], set()
    for node in graph:
        if node in done or node not in reach[node]:
            continue
        component = {m for m in reach[node] if node in reach.get(m, set())}
        done |= component
        found.append(sorted(component))
    return found


def _loops(filename: str, root: etree._Element) -> list[Problem]:
    """Cycles of sequence flows with nothing in them that waits for a person or an event."""
    problems = []
    for container in [*root.iterfind(".//bpmn:process", NS), *root.iterfind(".//bpmn:subProcess", NS)]:
        kinds = {el.get("id"): _local(el) for el in container if isinstance(el.tag, str) and el.get("id")}
        graph: dict[str, list[str]] = {}
        for flow in container.iterfind("bpmn:sequenceFlow", NS):
            graph.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
        for component in _cycles(graph):
            if not any(kinds.get(node) in PACING for node in component):
                gateway = next((n for n in component if "Gateway" in kinds.get(n, "")), component[0])
                problems.append(Problem(filename, gateway, "loop without a user task or an event in it: it would "
                                        f"spin without bound ({', '.join(sorted(component))})"))
    return problems


def _needs_incoming(el: etree._Element) -> bool:
    """A flow node that runs only when a sequence flow leads to it."""
    kind = _local(el)
    if kind in ("startEvent", "boundaryEvent") or el.get("isForCompensation") == "true":
        return False
    if kind == "subProcess" and el.get("triggeredByEvent") == "true":
        return False
    if kind == "intermediateCatchEvent" and el.find("bpmn:linkEventDefinition", NS) is not None:
        return False
    return kind.endswith(("Task", "Gateway", "Event")) or kind in ("task", "callActivity", "subProcess")


def _unreachable(filename: str, root: etree._Element) -> list[Problem]:
    problems = []
    for container in [*root.iterfind(".//bpmn:process", NS), *root.iterfind(".//bpmn:subProcess", NS)]:
        targets = {flow.get("targetRef") for flow in container.iterfind("bpmn:sequenceFlow", NS)}
        problems += [Problem(filename, el.get("id"), "no sequence flow leads here: this element can never run",
                             el.sourceline)
                     for el in container if isinstance(el.tag, str) and el.get("id") not in targets
                     and _needs_incoming(el)]
    return problems


def lint(bundle: ModelBundle, parsed: ParsedBundle, known_clauses: set[str] | None = None) -> list[Problem]:
    """Problems in the deployed (not inherited) BPMN files that the modeler refuses; warnings become errors."""
    problems = list(parsed.warnings)
    for filename, root in bundle.xml.items():
        if not filename.endswith(".bpmn") or filename in bundle.inherited:
            continue
        problems += _forms(filename, root) + _timers(filename, root) + _loops(filename, root)
        problems += _unreachable(filename, root)
        if known_clauses is not None:
            problems += _clauses(filename, root, known_clauses)
    return problems
