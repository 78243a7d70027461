"""The investigation and audit models (R6.4, R2.3, R4.2, R8.2): every flow element names its clause and has a
diagram shape or edge, so /instances/<id> can draw it and the traceability page can find it."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
FLOW_NODES = ("startEvent", "endEvent", "userTask", "serviceTask", "scriptTask", "exclusiveGateway", "subProcess")
MODELS = ("improper_query_investigation.bpmn", "master_agency_audit.bpmn", "query_explanation.bpmn",
          "account_revocation.bpmn")


def _root(name: str):
    return etree.parse(str(BPMN / name)).getroot()


@pytest.mark.parametrize("name", MODELS)
def test_r6_4_r8_2_every_flow_node_names_its_clause(name):
    root = _root(name)
    unnamed = [el.get("id") for tag in FLOW_NODES for el in root.iter(f"{{{NS['bpmn']}}}{tag}")
               if not el.findall("bpmn:extensionElements/spiffworkflow:properties/"
                                 "spiffworkflow:property[@name='regulation']", NS)]
    assert unnamed == []


@pytest.mark.parametrize("name", MODELS)
def test_r6_4_r8_2_every_element_is_drawn(name):
    root = _root(name)
    drawn = {el.get("bpmnElement") for el in root.iterfind(".//bpmndi:BPMNShape", NS)} | \
            {el.get("bpmnElement") for el in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    elements = [el.get("id") for tag in (*FLOW_NODES, "sequenceFlow", "lane")
                for el in root.iter(f"{{{NS['bpmn']}}}{tag}")]
    assert [e for e in elements if e not in drawn] == []


def test_r4_2_r8_2_audit_model_names_its_three_clauses_at_process_level():
    process = _root("master_agency_audit.bpmn").find("bpmn:process", NS)
    value = process.find("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS).get("value")
    assert value.split(",") == ["R2.3", "R4.2", "R8.2"]
