"""The restricted script environment refuses sandbox escapes and renders instructions safely."""

from __future__ import annotations

import pytest

from engine.scripts import RestrictedEnvironment, ScriptRegistry, ScriptRejected, render_instructions


@pytest.mark.parametrize("script", [
    "import os", "from os import path", "x = ().__class__.__bases__", "__import__('os')",
    "open('/etc/passwd')", "eval('1')", "global x",
])
def test_escapes_are_refused(script):
    env = RestrictedEnvironment(ScriptRegistry())
    with pytest.raises((ScriptRejected, NameError)):
        env.execute(script, {})


def test_plain_assignments_and_registered_helpers_run():
    registry = ScriptRegistry()
    registry.helper("double", lambda x: 2 * x)
    data = {"n": 4}
    RestrictedEnvironment(registry).execute("m = double(n) + len([1, 2])", data)
    assert data["m"] == 10 and "double" not in data


def test_conditions_evaluate_against_task_data():
    assert RestrictedEnvironment(ScriptRegistry()).evaluate('decision == "grant"', {"decision": "grant"})


def test_instructions_are_escaped():
    html = render_instructions("Hi {{ name }}", {"name": "<script>x</script>"})
    assert html == "Hi &lt;script&gt;x&lt;/script&gt;"


def test_instructions_cannot_reach_python_internals():
    html = render_instructions("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})
    assert "could not be rendered" in html and "subprocess" not in html


def test_broken_instructions_template_shows_a_note_not_an_error():
    assert "could not be rendered" in render_instructions("{{ 1/0 }}", {})
