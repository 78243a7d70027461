"""Server-side validation of form data against a task's JSON schema, reporting errors by field.

Pure jsonschema (no web framework): the REST API, the HTML inbox and the runtime all validate here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from jsonschema.validators import Draft202012Validator, validator_for

from engine.task_files import FILE_FORMAT, is_reference

FORM_ERROR_KEY = "_form"
_MAX_MESSAGE = 200

_REQUIRED, _UNEXPECTED = "必填 Required", "不允許的欄位 Unexpected field"
_MESSAGES = {
    "required": _REQUIRED, "dependentRequired": _REQUIRED, "const:True": "必須勾選 Must be checked",
    "additionalProperties": _UNEXPECTED, "unevaluatedProperties": _UNEXPECTED,
    "enum": "不在可選項目中 Not an allowed option", "pattern": "格式不符 Invalid format",
    "minItems": "請至少選擇 {value} 項 Select at least {value}",
    "maxItems": "最多選擇 {value} 項 Select at most {value}",
    "minLength": "至少 {value} 個字 At least {value} characters",
    "maxLength": "最多 {value} 個字 At most {value} characters",
    "minimum": "不可小於 {value} Must be at least {value}",
    "maximum": "不可大於 {value} Must be at most {value}",
    "type:integer": "須為整數 Must be a whole number", "type:number": "須為數字 Must be a number",
    "type:string": "須為文字 Must be text", "type:boolean": "須為是或否 Must be yes or no",
    "type:array": "須為清單 Must be a list",
    "format:date": "日期格式錯誤 Invalid date (YYYY-MM-DD)",
    "format:date-time": "日期時間格式錯誤 Invalid date and time",
    "format:email": "電子郵件格式錯誤 Invalid email address",
    "format:evidence-file": "請上傳檔案 Upload the file", "type:object": "請上傳檔案 Upload the file",
}


def _message(error: ValidationError) -> str:
    """Short bilingual message for common failures, else jsonschema's own (truncated)."""
    kind, value = str(error.validator), error.validator_value
    keyed = kind in {"type", "format", "const"}
    template = _MESSAGES.get(f"{kind}:{value}" if keyed else kind)
    message = template.format(value=value) if template else error.message
    return message[:_MAX_MESSAGE]


def _error_keys(error: ValidationError) -> list[str]:
    """Fields an error belongs to: its top-level path, else the property named by a root keyword."""
    if error.path:
        return [str(error.path[0])]
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    if error.validator in {"required", "dependentRequired"}:
        value = error.validator_value
        names = [n for deps in value.values() for n in deps] if isinstance(value, Mapping) else value
        missing = [n for n in names if n not in instance and error.message.startswith(repr(n))]
        return missing or [FORM_ERROR_KEY]
    if error.validator in {"additionalProperties", "unevaluatedProperties"} and not error.validator_value:
        known, patterns = error.schema.get("properties") or {}, error.schema.get("patternProperties") or {}
        extras = [k for k in instance if k not in known and not any(re.search(p, k) for p in patterns)]
        return [str(k) for k in extras] or [FORM_ERROR_KEY]
    return [FORM_ERROR_KEY]


def _format_checker() -> jsonschema.FormatChecker:
    """The standard formats plus `evidence-file` (a file field's reference, engine/task_files.py)."""
    checker = jsonschema.FormatChecker()
    checker.checks(FILE_FORMAT)(is_reference)
    return checker


_FORMAT_CHECKER = _format_checker()


@dataclass(frozen=True)
class CompiledForm:
    """A form's JSON schema and its validator, built once (validators are reusable and hold no state)."""

    schema: Mapping[str, Any]
    validator: Any

    def errors(self, data: Any) -> dict[str, str]:
        """Field -> first message for every failing field."""
        errors: dict[str, str] = {}
        for error in sorted(self.validator.iter_errors(data), key=lambda e: [str(p) for p in e.path]):
            message = _message(error)
            for key in _error_keys(error):
                errors.setdefault(key, message)
        return errors


def compile_form(schema: Mapping[str, Any]) -> CompiledForm:
    cls = validator_for(schema, default=Draft202012Validator)
    return CompiledForm(schema, cls(schema, format_checker=_FORMAT_CHECKER))


def validate_form_data(schema: Mapping[str, Any], data: Any) -> dict[str, str]:
    """Validate data against the schema, returning field -> first message for every failing field."""
    return compile_form(schema).errors(data)


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
