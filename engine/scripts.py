"""Restricted script environment: whitelisted builtins, named helpers, registered service tasks.

SpiffWorkflow's default environment `exec`s scripts with full builtins (`import os` works). Here every
script and condition is checked before it runs: no imports, no dunder names or attributes, and only the
builtins below. Regulation code registers helper functions and service-task handlers by name.
"""

from __future__ import annotations

import ast
import builtins
import datetime as dt
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

SAFE_BUILTIN_NAMES = (
    "abs all any bool dict divmod enumerate filter float format frozenset int isinstance len list map max "
    "min range repr reversed round set sorted str sum tuple zip ValueError KeyError TypeError Exception"
).split()
SAFE_BUILTINS = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}
BASE_HELPERS: dict[str, Any] = {"datetime": dt.datetime, "timedelta": dt.timedelta, "date": dt.date}


class ScriptRejected(ValueError):
    """A script or expression uses something the restricted environment does not allow."""


@functools.lru_cache(maxsize=2048)
def check_source(source: str, mode: str = "exec") -> None:
    """Refuse syntax errors, imports, and dunder names/attributes (the usual sandbox escapes)."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ScriptRejected(f"syntax error on line {exc.lineno}: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise ScriptRejected(f"line {node.lineno}: imports are not allowed in scripts")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ScriptRejected(f"line {node.lineno}: access to '{node.attr}' is not allowed")
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise ScriptRejected(f"line {node.lineno}: the name '{node.id}' is not allowed")
        if isinstance(node, ast.Global | ast.Nonlocal):
            raise ScriptRejected(f"line {node.lineno}: global/nonlocal are not allowed")


ServiceHandler = Callable[["ServiceCall"], Any]


@dataclass
class ServiceCall:
    """What a service-task handler receives: task data, evaluated parameters, and the host's context."""

    data: dict
    params: dict
    context: Any


@dataclass
class ScriptRegistry:
    """Helpers callable from scripts and handlers for service tasks, registered by regulation code."""

    helpers: dict[str, Callable] = field(default_factory=dict)
    services: dict[str, ServiceHandler] = field(default_factory=dict)
    # A user task's `completionCheck` property names one: it returns field -> message while the task may not
    # be completed yet (e.g. work it waits for is still open); checked in the completing transaction.
    checks: dict[str, ServiceHandler] = field(default_factory=dict)

    def helper(self, name: str, func: Callable) -> None:
        self.helpers[name] = func

    def service(self, operation: str, handler: ServiceHandler) -> None:
        self.services[operation] = handler

    def check(self, name: str, handler: ServiceHandler) -> None:
        self.checks[name] = handler


REGISTRY = ScriptRegistry()


class RestrictedEnvironment(TaskDataEnvironment):
    """Task-data environment that checks every script and exposes only safe builtins and helpers."""

    def __init__(self, registry: ScriptRegistry, context: Any = None):
        super().__init__({"__builtins__": SAFE_BUILTINS, **BASE_HELPERS, **registry.helpers})
        self.registry = registry
        self.context = context

    def evaluate(self, expression, context, external_context=None):
        check_source(expression.strip(), "eval")
        return super().evaluate(expression.strip(), context, external_context)

    def execute(self, script, context, external_context=None):
        check_source(script)
        return super().execute(script, context, external_context)

    def call_service(self, context, operation_name=None, operation_params=None, **_kwargs):
        handler = self.registry.services.get(operation_name)
        if handler is None:
            raise ScriptRejected(f"no service task handler is registered for '{operation_name}'")
        params = {name: p.get("value") for name, p in (operation_params or {}).items()}
        return json.dumps(handler(ServiceCall(context, params, self.context)), default=str)


def script_engine(context: Any = None, registry: ScriptRegistry = REGISTRY) -> PythonScriptEngine:
    """A script engine bound to one operation's host context (session, instance, actor)."""
    return PythonScriptEngine(environment=RestrictedEnvironment(registry, context))


_SANDBOX = SandboxedEnvironment(autoescape=True)


def render_instructions(template: str | None, data: dict) -> str:
    """Render a task's instructionsForEndUser in Jinja2's sandbox; a broken template shows as a note."""
    if not template:
        return ""
    try:
        return _SANDBOX.from_string(template).render(**data)
    except Exception as exc:  # noqa: BLE001 - user-authored template: never raise to the user
        return f"(說明無法顯示 Instructions could not be rendered: {type(exc).__name__}: {exc})"
