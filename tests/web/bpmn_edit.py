"""Structural edits of a BPMN file for tests: insert a step, add elements, set a property, whatever the layout.

The bundled models keep changing; tests edit them by element id, never by matching their text.
"""

from __future__ import annotations

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}


def _q(name: str, ns: str = BPMN_NS) -> str:
    return f"{{{ns}}}{name}"


class Model:
    """A parsed BPMN document with the one process the tests edit."""

    def __init__(self, xml: str, process_id: str):
        self.root = etree.fromstring(xml.encode())
        self.process = self.root.find(f".//bpmn:process[@id='{process_id}']", NS)

    def text(self) -> str:
        return etree.tostring(self.root, encoding="unicode")

    def element(self, element_id: str) -> etree._Element:
        return self.process.find(f".//*[@id='{element_id}']")

    def flows(self, source: str | None = None, target: str | None = None) -> list[etree._Element]:
        found = self.process.iterfind("bpmn:sequenceFlow", NS)
        return [f for f in found if source in (None, f.get("sourceRef")) and target in (None, f.get("targetRef"))]

    def lane_of(self, element_id: str) -> etree._Element:
        return next(ref.getparent() for ref in self.process.iterfind(".//bpmn:flowNodeRef", NS)
                    if ref.text == element_id)

    def add_flow(self, flow_id: str, source: str, target: str) -> None:
        self.process.append(etree.Element(_q("sequenceFlow"), id=flow_id, sourceRef=source, targetRef=target))

    def add_lane(self, lane_name: str, *element_ids: str) -> None:
        lane_set = self.process.find("bpmn:laneSet", NS)
        lane = etree.SubElement(lane_set, _q("lane"), id=f"Lane_{lane_name}_test", name=lane_name)
        for element_id in element_ids:
            etree.SubElement(lane, _q("flowNodeRef")).text = element_id

    def add_fragment(self, xml: str) -> None:
        """Append elements written with the `bpmn:` prefix to the process."""
        wrapper = etree.fromstring(f'<wrapper xmlns:bpmn="{BPMN_NS}">{xml}</wrapper>'.encode())
        for child in list(wrapper):
            self.process.append(child)

    def set_property(self, element_id: str, name: str, value: str | None) -> None:
        """Set (or with None, remove) a spiffworkflow:property of an element."""
        el = self.element(element_id)
        ext = el.find("bpmn:extensionElements", NS)
        if ext is None:
            ext = etree.Element(_q("extensionElements"))
            el.insert(0, ext)
        props = ext.find("spiffworkflow:properties", NS)
        if props is None:
            props = etree.SubElement(ext, _q("properties", SPIFF_NS))
        for prop in props.iterfind(f"spiffworkflow:property[@name='{name}']", NS):
            props.remove(prop)
        if value is not None:
            etree.SubElement(props, _q("property", SPIFF_NS), name=name, value=value)

    def insert_user_task_after(self, after: str, task_id: str, lane_name: str, form: str) -> None:
        """A new user task in a new lane between `after` and what followed it."""
        (flow,) = self.flows(source=after)
        task = etree.SubElement(self.process, _q("userTask"), id=task_id, name=f"{task_id} (test)")
        self.add_flow(f"flow_{task_id}_out", task_id, flow.get("targetRef"))
        flow.set("targetRef", task_id)
        self.set_property(task_id, "formJsonSchemaFilename", form)
        self.add_lane(lane_name, task.get("id"))
