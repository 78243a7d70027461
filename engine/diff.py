"""What changed between two versions of a process: SpiffWorkflow's spec diff plus the flows and lanes of the XML.

Element ids are BPMN ids, so a diagram can mark them. Tasks are aligned by SpiffWorkflow's `SpecDiff` (by id,
then by structure); sequence flows and lanes are not task specs and are compared in the XML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_dependencies
from sqlalchemy.orm import Session

from engine.bundle import FORM_PROPERTIES, NS
from engine.models import ProcessVersion
from engine.specs import deployment_file
from engine.validation import SERIALIZER

XML_KINDS = ("sequenceFlow", "lane")


@dataclass
class VersionDiff:
    """Element ids added, removed and changed (with the names of the changed attributes)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"added": sorted(self.added), "removed": sorted(self.removed),
                "changed": {k: sorted(v) for k, v in sorted(self.changed.items())}}


def load_specs(version: ProcessVersion):
    """The version's process spec and its subprocess specs, freshly deserialized."""
    stored = json.loads(version.spec_json)
    spec = SERIALIZER.from_dict(stored["spec"])
    subs = {name: SERIALIZER.from_dict(d) for name, d in stored["subprocess_specs"].items()}
    return spec, subs


def _element_id(task_spec) -> str | None:
    """The BPMN id of a task spec; None for the engine's own (Start, End, joins)."""
    return getattr(task_spec, "bpmn_id", None)


def _collect(result: VersionDiff, spec_diff: SpecDiff) -> None:
    result.added += [i for i in map(_element_id, spec_diff.added) if i]
    result.removed += [i for i in map(_element_id, spec_diff.removed) if i]
    for task_spec, attributes in spec_diff.changed.items():
        element = _element_id(task_spec)
        if element:
            known = result.changed.setdefault(element, [])
            known += [a for a in attributes if a not in known]


def _all_ids(spec) -> list[str]:
    return [i for i in map(_element_id, spec.task_specs.values()) if i]


def spec_diff(old: ProcessVersion, new: ProcessVersion) -> VersionDiff:
    """Task-level differences of the process and of its subprocesses (SpiffWorkflow's SpecDiff)."""
    old_spec, old_subs = load_specs(old)
    new_spec, new_subs = load_specs(new)
    result = VersionDiff()
    _collect(result, SpecDiff(SERIALIZER.registry, old_spec, new_spec))
    sub_diffs, added_subs = diff_dependencies(SERIALIZER.registry, old_subs, new_subs)
    for name, sub in sub_diffs.items():
        if sub is None:
            result.removed += _all_ids(old_subs[name])
        else:
            _collect(result, sub)
    for name in added_subs:
        result.added += _all_ids(new_subs[name])
    return result


def _xml_elements(session: Session, version: ProcessVersion) -> dict[str, str]:
    """Flow and lane ids of the version's BPMN file -> a canonical text of what matters about them."""
    row = deployment_file(session, version.deployment_id, version.bpmn_filename)
    if row is None:
        return {}
    root = etree.fromstring(row.content.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    process = root.find(f".//bpmn:process[@id='{version.process_id}']", NS)
    if process is None:
        return {}
    found = {}
    for kind in XML_KINDS:
        for el in process.iterfind(f".//bpmn:{kind}", NS):
            condition = el.find("bpmn:conditionExpression", NS)
            found[el.get("id")] = "|".join([el.get("name") or "", el.get("sourceRef") or "",
                                            el.get("targetRef") or "",
                                            (condition.text or "").strip() if condition is not None else ""])
    return found


def _form_files(version: ProcessVersion) -> dict[str, set[str]]:
    """Element id -> the form files its task names."""
    spec, subs = load_specs(version)
    found: dict[str, set[str]] = {}
    for task_spec in [*spec.task_specs.values(), *(ts for sub in subs.values() for ts in sub.task_specs.values())]:
        props = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
        names = {props[key] for key in FORM_PROPERTIES if props.get(key)}
        if names and _element_id(task_spec):
            found[_element_id(task_spec)] = names
    return found


def _form_changes(session: Session, old: ProcessVersion, new: ProcessVersion) -> dict[str, list[str]]:
    """Tasks whose form file content differs between the versions (same file name, new content)."""
    def digest(version: ProcessVersion, name: str) -> str | None:
        row = deployment_file(session, version.deployment_id, name)
        return row.sha256 if row else None

    before, after = _form_files(old), _form_files(new)
    return {element: ["form"] for element, names in after.items() if element in before
            and any(digest(old, n) != digest(new, n) for n in names & before[element])}


def diff_versions(session: Session, old: ProcessVersion, new: ProcessVersion) -> VersionDiff:
    """Everything a reviewer should see between two versions of one process (forms included)."""
    result = spec_diff(old, new)
    for element, attributes in _form_changes(session, old, new).items():
        result.changed.setdefault(element, []).extend(attributes)
    before, after = _xml_elements(session, old), _xml_elements(session, new)
    result.added += [i for i in after if i not in before]
    result.removed += [i for i in before if i not in after]
    for element in before.keys() & after.keys():
        if before[element] != after[element]:
            result.changed.setdefault(element, []).append("definition")
    result.added, result.removed = sorted(set(result.added)), sorted(set(result.removed))
    return result
