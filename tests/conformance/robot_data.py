"""A robot user's form data: the smallest object valid for a task's JSON schema (defaults first)."""

from __future__ import annotations

FORMATS = {"date": "2027-01-15", "date-time": "2027-01-15T09:00:00+08:00", "email": "robot@example.org",
           "time": "09:00:00"}


def _scalar(kind: str | None, schema: dict):
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return FORMATS.get(schema.get("format"), "robot").ljust(schema.get("minLength", 0), "x")


def value_for(schema: dict):
    """A value the schema accepts: its default, const or first enum; else a minimal value of its type."""
    if not isinstance(schema, dict):
        return None
    for key in ("default", "const"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    choices = schema.get("oneOf") or schema.get("anyOf")
    if choices:
        return value_for(choices[0])
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema:
        return data_for(schema)
    if kind == "array":
        return [value_for(schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    return _scalar(kind, schema)


def data_for(schema: dict | None) -> dict:
    """Data for a whole form: a value for every property the form shows (what a person filling it would do)."""
    if not schema:
        return {}
    properties = schema.get("properties", {})
    return {name: value_for(spec) for name, spec in properties.items()}
