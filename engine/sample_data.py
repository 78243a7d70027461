"""Sample answers for a form's JSON schema: what a modeler test run proposes for each task (the analyst edits it).

Only what validation needs: required fields (and those with a const), the first choice of enums, today for
dates, and conditional requirements (`if`/`then`) followed once.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

SAMPLE_TEXT = "測試 test"
# Tried in turn when a string has a pattern (ids, accounts, case numbers...).
PATTERN_SAMPLES = ("測試 test", "test.user", "test", "TEST-001", "115-001", "A1", "1")


def _first_choice(prop: dict) -> Any:
    if "const" in prop:
        return prop["const"]
    if isinstance(prop.get("enum"), list) and prop["enum"]:
        return prop["enum"][0]
    for key in ("oneOf", "anyOf"):
        branches = prop.get(key)
        if isinstance(branches, list) and branches and isinstance(branches[0], dict) and "const" in branches[0]:
            return branches[0]["const"]
    return None


def _string(prop: dict, today: dt.date) -> str:
    fmt = prop.get("format")
    if fmt == "date":
        return today.isoformat()
    if fmt == "date-time":
        return dt.datetime.combine(today, dt.time(9, 0), dt.UTC).isoformat()
    if fmt == "email":
        return "test@example.org"
    pattern = prop.get("pattern")
    if pattern:
        try:
            return next((c for c in PATTERN_SAMPLES if re.search(pattern, c)), SAMPLE_TEXT)
        except re.error:
            return SAMPLE_TEXT
    text = SAMPLE_TEXT
    while len(text) < int(prop.get("minLength", 0) or 0):
        text += " " + SAMPLE_TEXT
    return text[: int(prop["maxLength"])] if prop.get("maxLength") else text


def sample_value(prop: dict, today: dt.date) -> Any:
    """One plausible value for a property schema."""
    if not isinstance(prop, dict):
        return None
    choice = _first_choice(prop)
    if choice is not None:
        return choice
    kind = prop.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return max(int(prop.get("minimum", 1) or 1), 1)
    if kind == "array":
        item = sample_value(prop.get("items") or {}, today)
        return [item] * max(int(prop.get("minItems", 1) or 1), 1) if item is not None else []
    if kind == "object":
        return sample_data(prop, today)
    return _string(prop, today)


def _conditional_required(schema: dict, data: dict) -> set[str]:
    """Fields an `if`/`then` in `allOf` requires for the data chosen so far."""
    needed = set()
    for rule in schema.get("allOf") or []:
        cond = (rule or {}).get("if", {}).get("properties", {})
        if cond and all(data.get(k) == v.get("const", data.get(k)) for k, v in cond.items() if isinstance(v, dict)):
            needed |= set((rule.get("then") or {}).get("required", []))
    return needed


def sample_data(schema: dict | None, today: dt.date) -> dict:
    """Sample answers that satisfy the schema's required fields."""
    if not isinstance(schema, dict):
        return {}
    props = schema.get("properties") or {}
    wanted = set(schema.get("required") or []) | {k for k, p in props.items() if isinstance(p, dict) and "const" in p}
    data = {k: sample_value(props.get(k, {}), today) for k in props if k in wanted}
    for key in _conditional_required(schema, data) - set(data):
        data[key] = sample_value(props.get(key, {}), today)
    return {k: v for k, v in data.items() if v is not None}
