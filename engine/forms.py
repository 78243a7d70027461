"""Server-side validation of form data against a task's JSON schema, reporting errors by field."""

from __future__ import annotations

import jsonschema

REQUIRED_MESSAGE = "必填 Required"


def _field_of(error: jsonschema.ValidationError) -> list[str]:
    if error.path:
        return [str(error.path[0])]
    if error.validator == "required":
        missing = error.message.split("'")
        return [missing[1]] if len(missing) > 2 else ["_form"]
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return extra or ["_form"]
    return ["_form"]


def _leaves(error: jsonschema.ValidationError):
    """The specific errors behind if/then/allOf wrappers, so each names its field."""
    if error.context:
        for sub in error.context:
            yield from _leaves(sub)
    else:
        yield error


def validate_form_data(schema: dict, data: dict) -> dict[str, str]:
    """Field -> message for every failing field (first error per field wins); empty when valid."""
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema, format_checker=jsonschema.FormatChecker())
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path]):
        for leaf in _leaves(error):
            message = REQUIRED_MESSAGE if leaf.validator == "required" else leaf.message
            for name in _field_of(leaf):
                errors.setdefault(name, message)
    return errors


def forbidden_keys(data, path: str = "") -> list[str]:
    """Keys SpiffWorkflow's serializer would misread (`typename` breaks deserialization)."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "typename":
                found.append(where)
            found += forbidden_keys(value, where)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += forbidden_keys(value, f"{path}[{i}]")
    return found
