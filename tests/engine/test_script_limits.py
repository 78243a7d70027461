"""A script or condition that never ends is stopped at the time limit: the instance goes to `error` naming the
element and the reason, its lock is released, and the next operations run (on SQLite the database write lock
would otherwise be held for ever)."""

from __future__ import annotations

import sys
import time

import pytest
from sqlalchemy import select

from engine import runtime
from engine.bundle import ModelFile
from engine.models import InstanceStatus, ProcessInstance
from engine.scripts import REGISTRY, RestrictedEnvironment, ScriptTimeout
from workflows import bundled

MODEL = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
<bpmn:process id="{pid}" isExecutable="true">
  <bpmn:startEvent id="start"/>
  <bpmn:scriptTask id="count_for_ever" name="Count"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="count_for_ever"/>
  <bpmn:sequenceFlow id="f2" sourceRef="count_for_ever" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def short_limit(monkeypatch):
    monkeypatch.setenv("WEBIR_SCRIPT_TIME_LIMIT", "0.3")


def _deploy(db, pid: str, script: str) -> None:
    with db.transaction() as session:
        bundled.deploy_files(session, [ModelFile(f"{pid}.bpmn", MODEL.format(pid=pid, script=script).encode())],
                             "t", "t")


def test_a_script_that_never_ends_stops_at_the_limit_and_the_instance_shows_why(org_db, users, short_limit):
    _deploy(org_db, "loops", "n = 0\nwhile True:\n    n += 1")
    _deploy(org_db, "finishes", "n = sum(range(1000))")
    started = time.monotonic()
    looping = runtime.start_instance(org_db, "loops", users["dsw.staff"])
    assert time.monotonic() - started < 5
    finished = runtime.start_instance(org_db, "finishes", users["dsw.staff"])  # the lock was released
    with org_db.sessions() as session:
        by_id = {i.id: i for i in session.scalars(select(ProcessInstance))}
    assert by_id[looping].status == InstanceStatus.ERROR
    assert "count_for_ever" in by_id[looping].error_message and "0.3 s" in by_id[looping].error_message
    assert by_id[finished].status == InstanceStatus.COMPLETED
    assert sys.gettrace() is None


@pytest.mark.parametrize("script", ["while True: pass", "x = [i for i in range(10**12)]"])
def test_loops_on_one_line_and_in_comprehensions_are_stopped(short_limit, script):
    started = time.monotonic()
    with pytest.raises(ScriptTimeout, match="0.3 s"):
        RestrictedEnvironment(REGISTRY).execute(script, {})
    assert time.monotonic() - started < 3


def test_conditions_are_limited_too_and_a_limit_of_zero_turns_it_off(monkeypatch, short_limit):
    with pytest.raises(ScriptTimeout):
        RestrictedEnvironment(REGISTRY).evaluate("any(i < 0 for i in range(10**12))", {})
    monkeypatch.setenv("WEBIR_SCRIPT_TIME_LIMIT", "0")
    assert RestrictedEnvironment(REGISTRY).evaluate("sum(i for i in range(100000))", {}) == 4999950000
