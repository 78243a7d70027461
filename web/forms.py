"""JSON-schema forms without JavaScript: fields to render, HTML submissions to parse, data to validate.

ui schemas follow react-jsonschema-form conventions; validation itself lives in engine/forms.py.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.task_files import FILE_FORMAT
from web import form_rows

if TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

WIDGETS = frozenset({"text", "textarea", "number", "integer", "checkbox", "select", "radio",
                     "checkboxes", "date", "datetime", "email", "readonly", "hidden", "file"})
_TRUTHY = frozenset({"on", "true", "1", "yes"})
_BOOL_OPTIONS = [("true", "是 Yes"), ("false", "否 No")]
_UI_ALIASES = {"alt-date": "date", "alt-datetime": "datetime", "date-time": "datetime"}
_STRING_WIDGETS = frozenset({"text", "textarea", "date", "datetime", "email"})
_FORMAT_WIDGETS = {"date": "date", "date-time": "datetime", "email": "email"}
_DATETIME_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")
_MAX_MESSAGE = 200
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object", list: "array"}


@dataclass
class FormField:
    """One renderable form control derived from a top-level schema property."""

    name: str
    title: str
    description: str = ""
    widget: str = "text"
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    error: str | None = None
    help: str = ""
    placeholder: str = ""
    minimum: int | float | None = None
    maximum: int | float | None = None
    step: str | None = None
    minlength: int | None = None
    maxlength: int | None = None
    pattern: str | None = None
    rows: int | None = None
    accept: str | None = None  # file fields: the accepted file-name endings
    table: Any = None  # a list-of-rows field's web.form_rows.RowsLayout

    @property
    def input_id(self) -> str:
        """HTML id for the control, so labels and aria attributes can point at it."""
        return "field-" + re.sub(r"\s", "_", self.name)

    @property
    def text(self) -> str:
        """Value as the string an HTML input or textarea should show."""
        value = self.value
        if value is None:
            return ""
        if self.widget == "textarea" and isinstance(value, list):
            return "\n".join(_option_value(item) for item in value)
        if self.widget == "datetime" and isinstance(value, str):
            match = _DATETIME_LOCAL.match(value)
            return match.group(0) if match else value
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, indent=2)
        return _option_value(value)

    @property
    def display(self) -> str:
        """Human-readable value for read-only fields, using option labels where known."""
        labels = dict(self.options)
        values = self.value if isinstance(self.value, list) else [self.value]
        if self.value is None or not all(isinstance(v, str | int | float) for v in values):
            return self.text
        return "、".join(labels.get(_option_value(v), _option_value(v)) for v in values)

    def is_selected(self, option: str) -> bool:
        """Whether an option value is the current value (or among the current values)."""
        if isinstance(self.value, list):
            return option in {_option_value(item) for item in self.value}
        return self.value is not None and _option_value(self.value) == option


def _option_value(value: Any) -> str:
    """Stringify a JSON scalar the way it is posted back by an HTML form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _prop_type(prop: Mapping[str, Any]) -> str | None:
    """The property's main JSON type, inferring from enum/const values when ``type`` is absent."""
    declared = prop.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    if isinstance(declared, str):
        return declared
    values = prop.get("enum") or [c["const"] for c in _const_choices(prop)]
    kinds = [_JSON_TYPES.get(type(v)) for v in values if v is not None]
    return kinds[0] if kinds else None


def _const_choices(prop: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``oneOf``/``anyOf`` branches when every branch is a ``{const, title}`` choice."""
    for key in ("oneOf", "anyOf"):
        branches = prop.get(key)
        if isinstance(branches, list) and all(isinstance(b, Mapping) and "const" in b for b in branches):
            return branches
    return []


def _enum_options(prop: Mapping[str, Any], titles: Any = None) -> list[tuple[str, str]]:
    """(value, label) pairs from ``enum`` + ``x-enumTitles``, else ``oneOf`` consts, else none."""
    enum = prop.get("enum")
    if isinstance(enum, list):
        names = prop.get("x-enumTitles") or prop.get("enumNames") or titles or []
        return [(_option_value(v), str(names[i]) if i < len(names) else _option_value(v))
                for i, v in enumerate(enum) if v is not None]
    return [(_option_value(b["const"]), str(b.get("title", _option_value(b["const"]))))
            for b in _const_choices(prop) if b["const"] is not None]


def _items(prop: Mapping[str, Any]) -> Mapping[str, Any]:
    """The array item schema, or an empty mapping when absent or not a single schema."""
    items = prop.get("items")
    return items if isinstance(items, Mapping) else {}


def _options_for(prop: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Choices for a property: its own enum, its array items' enum, or yes/no for booleans."""
    kind = _prop_type(prop)
    if kind == "array":
        return _enum_options(_items(prop), prop.get("x-enumTitles"))
    options = _enum_options(prop)
    return options or (list(_BOOL_OPTIONS) if kind == "boolean" else [])


def _shape(prop: Mapping[str, Any]) -> str:
    """Classify a property as ``scalar``, ``choices`` (enum array), ``lines`` (scalar array), ``rows`` (array of
    flat objects, web/form_rows.py) or ``other``."""
    kind = _prop_type(prop)
    if kind == "array":
        if _enum_options(_items(prop)):
            return "choices"
        if form_rows.item_schema(prop) is not None:
            return "rows"
        return "lines" if _prop_type(_items(prop)) in {"string", "integer", "number"} else "other"
    return "other" if kind == "object" or "properties" in prop else "scalar"


def _default_widget(prop: Mapping[str, Any]) -> str:
    """The widget implied by the schema alone."""
    shape = _shape(prop)
    if shape != "scalar":
        return {"choices": "checkboxes", "lines": "textarea", "rows": "rows"}.get(shape, "readonly")
    kind = _prop_type(prop)
    if _enum_options(prop):
        return "select"
    if kind == "boolean":
        return "checkbox"
    if kind in {"integer", "number"}:
        return kind
    return _FORMAT_WIDGETS.get(str(prop.get("format")), "text")


def _override_ok(wanted: str, default: str, prop: Mapping[str, Any]) -> bool:
    """Whether a ``ui:widget`` override makes sense for this property's shape."""
    if default in ("readonly", "rows") or wanted not in WIDGETS:
        return False
    if wanted == "hidden":
        return True
    if wanted in {"radio", "select"}:
        return _shape(prop) == "scalar" and bool(_options_for(prop))
    if wanted == "checkboxes":
        return default == "checkboxes"
    if wanted == "checkbox":
        return _prop_type(prop) == "boolean"
    return wanted in _STRING_WIDGETS and default in _STRING_WIDGETS


def _ui_get(ui: Mapping[str, Any], key: str) -> Any:
    """Read a ui-schema setting from ``ui:<key>`` or from ``ui:options``."""
    options = ui.get("ui:options")
    if f"ui:{key}" in ui:
        return ui[f"ui:{key}"]
    return options.get(key) if isinstance(options, Mapping) else None


def _is_readonly(prop: Mapping[str, Any], ui: Mapping[str, Any], root_ui: Mapping[str, Any]) -> bool:
    """Read-only via schema ``readOnly``, ``ui:readonly``/``ui:disabled``, or a form-wide ``ui:readonly``."""
    flags = (prop.get("readOnly"), _ui_get(ui, "readonly"), _ui_get(ui, "disabled"))
    return any(flag is True for flag in (*flags, root_ui.get("ui:readonly")))


def _widget(prop: Mapping[str, Any], ui: Mapping[str, Any], root_ui: Mapping[str, Any]) -> str:
    """Pick the widget: schema default, then a sensible ``ui:widget`` override, then read-only."""
    if prop.get("format") == FILE_FORMAT:
        return "file"
    default = _default_widget(prop)
    wanted = _ui_get(ui, "widget")
    wanted = _UI_ALIASES.get(wanted, wanted) if isinstance(wanted, str) else None
    widget = wanted if wanted and _override_ok(wanted, default, prop) else default
    return "readonly" if widget != "hidden" and _is_readonly(prop, ui, root_ui) else widget


def ordered_names(properties: Iterable[str], order: Any) -> list[str]:
    """Property names in ``ui:order`` order; ``*`` stands for the rest, unlisted names go last."""
    names = list(properties)
    if not isinstance(order, list):
        return names
    listed = [n for i, n in enumerate(order) if n in names and n not in order[:i]]
    rest = [n for n in names if n not in listed]
    if "*" not in order:
        return listed + rest
    star = order.index("*")
    before = [n for n in listed if n in order[:star]]
    return before + rest + [n for n in listed if n not in before]


def _html_hints(prop: Mapping[str, Any], widget: str) -> dict[str, Any]:
    """HTML validation hints (min/max/step/length/pattern) that match the schema's semantics."""
    if widget in {"integer", "number"}:
        step = str(prop.get("multipleOf") or ("1" if widget == "integer" else "any"))
        return {"minimum": prop.get("minimum"), "maximum": prop.get("maximum"), "step": step}
    if widget not in {"text", "textarea", "email"}:
        return {}
    pattern = prop.get("pattern")
    # HTML anchors patterns; only pass through ones already anchored so both sides agree.
    anchored = widget == "text" and isinstance(pattern, str) and re.fullmatch(r"\^[^|]*\$", pattern)
    return {"minlength": prop.get("minLength"), "maxlength": prop.get("maxLength"),
            "pattern": pattern if anchored else None}


def _build_field(name: str, prop: Mapping[str, Any], ui: Mapping[str, Any],
                 root_ui: Mapping[str, Any]) -> FormField:
    """Make the FormField for one property (value and error are filled in by the caller)."""
    widget = _widget(prop, ui, root_ui)
    rows = _ui_get(ui, "rows")
    return FormField(
        name=name, widget=widget, options=_options_for(prop),
        title=str(_ui_get(ui, "title") or prop.get("title") or name),
        description=str(_ui_get(ui, "description") or prop.get("description") or ""),
        help=str(_ui_get(ui, "help") or ""), placeholder=str(_ui_get(ui, "placeholder") or ""),
        rows=rows if isinstance(rows, int) else None, **_html_hints(prop, widget),
        accept=",".join(str(a) for a in prop.get("accept") or []) or None if widget == "file" else None,
    )


def _properties(schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Top-level property schemas, with boolean/odd subschemas replaced by an empty schema."""
    props = schema.get("properties") or {}
    return {name: prop if isinstance(prop, Mapping) else {} for name, prop in props.items()}


def _ui_for(root_ui: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The ui schema of one property, or an empty mapping."""
    ui = root_ui.get(name)
    return ui if isinstance(ui, Mapping) else {}


def build_fields(schema: Mapping[str, Any], ui_schema: Mapping[str, Any] | None,
                 data: Mapping[str, Any] | None, errors: Mapping[str, str] | None) -> list[FormField]:
    """One FormField per top-level property, ordered by ``ui:order``; absent data falls back to defaults."""
    properties, root_ui = _properties(schema), ui_schema or {}
    required = set(schema.get("required") or [])
    data, errors = data or {}, errors or {}
    fields = []
    for name in ordered_names(properties, root_ui.get("ui:order")):
        prop = properties[name]
        form_field = _build_field(name, prop, _ui_for(root_ui, name), root_ui)
        form_field.required = name in required
        form_field.value = data[name] if name in data else prop.get("default")
        form_field.error = errors.get(name)
        if form_field.widget == "rows":
            form_field.table = form_rows.layout(prop, _ui_for(root_ui, name), form_field.value)
        fields.append(form_field)
    return fields


def readonly_names(schema: Mapping[str, Any], ui_schema: Mapping[str, Any] | None = None) -> set[str]:
    """Properties a form never edits (read-only or unsupported shapes), so submissions must not set them."""
    root_ui = ui_schema or {}
    return {name for name, prop in _properties(schema).items() if prop.get("format") != FILE_FORMAT
            and (_shape(prop) == "other" or _is_readonly(prop, _ui_for(root_ui, name), root_ui))}


def parse_submission(schema: Mapping[str, Any], form: MultiDict[str, str],
                     ui_schema: Mapping[str, Any] | None = None,
                     current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Typed JSON data from an HTML form; read-only/unsupported properties come from ``current`` instead."""
    current, skip = current or {}, readonly_names(schema, ui_schema)
    data: dict[str, Any] = {}
    for name, prop in _properties(schema).items():
        if name == "csrf_token" or (name in skip and name not in current) or prop.get("format") == FILE_FORMAT:
            continue  # files come with the request's files (web.task_page), not its form fields
        value = current[name] if name in skip else _parse_value(prop, form, name)
        if value is not None:
            data[name] = value
    return data


def _parse_value(prop: Mapping[str, Any], form: MultiDict[str, str], name: str) -> Any:
    """One property's typed value, or None when the submission leaves it empty."""
    shape = _shape(prop)
    if shape == "choices":
        return [_coerce(_items(prop), raw) for raw in form.getlist(name) if raw != ""]
    if shape == "rows":
        return form_rows.parse_rows(name, form_rows.item_schema(prop), form)
    if _prop_type(prop) == "boolean":
        return any(raw.strip().lower() in _TRUTHY for raw in form.getlist(name))
    raw = form.get(name)
    if raw is None or not raw.strip():
        return None
    if shape == "lines":
        return [_coerce(_items(prop), line.strip()) for line in raw.splitlines() if line.strip()]
    return _coerce(prop, raw)


def _coerce(prop: Mapping[str, Any], raw: str) -> Any:
    """Map submitted text back to an enum value or the schema type; unparseable text stays raw."""
    choices = list(prop.get("enum") or []) + [c["const"] for c in _const_choices(prop)]
    for choice in choices:
        if _option_value(choice) == raw:
            return choice
    kind = _prop_type(prop)
    if kind in {"integer", "number"}:
        return _parse_number(raw.strip(), kind)
    return raw.replace("\r\n", "\n")


def _parse_number(text: str, kind: str) -> Any:
    """Parse an integer or number, keeping the text when it is not a finite number."""
    if re.fullmatch(r"[+-]?\d{1,300}", text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    return int(number) if kind == "integer" and number.is_integer() else number
