"""Restricted script environment: whitelisted builtins, named helpers, registered service tasks, a time limit.

SpiffWorkflow's default environment `exec`s scripts with full builtins (`import os` works). Here every
script and condition is checked before it runs: no imports, no dunder names or attributes, and only the
builtins below. Regulation code registers helper functions and service-task handlers by name.

A script or condition runs for at most WEBIR_SCRIPT_TIME_LIMIT seconds (default 5): one that loops for ever
would otherwise hold its instance's lock (on SQLite the database's write lock) for ever. Past the limit it is
stopped between two of its bytecode instructions and the instance goes to `error` naming the element, as any
failing script does; the transaction's other work is kept. A single long operation inside one instruction (a
huge power, say) is not interrupted until it returns.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import datetime as dt
import functools
import json
import os
import sys
import time
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


class ScriptTimeout(RuntimeError):
    """A script or expression ran past the time limit and was stopped."""


def script_time_limit() -> float:
    """Seconds a script or condition may run (WEBIR_SCRIPT_TIME_LIMIT; 0 turns the limit off)."""
    try:
        return max(float(os.environ.get("WEBIR_SCRIPT_TIME_LIMIT", "5")), 0.0)
    except ValueError:
        return 5.0


SCRIPT_FILENAME = "<string>"  # what exec/eval name the code of a script or condition


@contextlib.contextmanager
def time_limited(limit: float):
    """Stop the scripts run inside after `limit` seconds: a trace function checks the clock every 1,000
    bytecode instructions of the script's own code (a loop on one line, `while True: pass`, makes no line events;
    helpers it calls are not traced). Left alone under a debugger or coverage tool that traces already (it would
    lose its trace function), or when the limit is 0."""
    if not limit or sys.gettrace() is not None:
        yield
        return
    deadline, steps = time.monotonic() + limit, [0]

    def on_step(_frame, event, _arg):
        if event == "opcode":
            steps[0] += 1
            if steps[0] % 1000 == 0 and time.monotonic() > deadline:
                raise ScriptTimeout(f"腳本執行超過 {limit:g} 秒，已停止 The script ran longer than {limit:g} s "
                                    f"and was stopped (WEBIR_SCRIPT_TIME_LIMIT)")
        return on_step

    def on_call(frame, _event, _arg):
        if frame.f_code.co_filename != SCRIPT_FILENAME:
            return None
        frame.f_trace_opcodes = True
        return on_step

    sys.settrace(on_call)
    try:
        yield
    finally:
        sys.settrace(None)


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
        with time_limited(script_time_limit()):
            return super().evaluate(expression.strip(), context, external_context)

    def execute(self, script, context, external_context=None):
        check_source(script)
        with time_limited(script_time_limit()):
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
