"""Who may start a process for which agency: the default rule and the `startableBy` process property."""

from __future__ import annotations

import pytest

from engine import runtime
from engine.assignment import NotAllowed
from engine.bundle import ModelFile
from workflows import bundled

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="{pid}" isExecutable="true">
    {props}
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="fill" name="Fill"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fill" />
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
"""
STAFF_ONLY = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="startableBy" '
              'value="agency_staff" /></spiffworkflow:properties></bpmn:extensionElements>')


@pytest.fixture
def deployed(org_db):
    with org_db.transaction() as session:
        bundled.deploy_files(session, [ModelFile("open.bpmn", PROCESS.format(pid="open_start", props="").encode()),
                                       ModelFile("staff.bpmn", PROCESS.format(pid="staff_start",
                                                                             props=STAFF_ONLY).encode())], "t", "t")
    return org_db


def test_master_roles_may_start_an_ordinary_process_for_any_agency(deployed, users):
    assert runtime.start_instance(deployed, "open_start", users["dol.admin"], "DSW")
    with pytest.raises(NotAllowed):
        runtime.start_instance(deployed, "open_start", users["dsw.admin"], "DAAN")


def test_agency_staff_processes_are_started_only_by_staff_of_that_agency(deployed, users):
    with pytest.raises(NotAllowed, match="Only staff of the agency"):
        runtime.start_instance(deployed, "staff_start", users["dol.admin"], "DSW")
    assert runtime.start_instance(deployed, "staff_start", users["dsw.staff"], "DSW")
    assert runtime.start_instance(deployed, "staff_start", users["dol.admin"])  # for the master agency itself
