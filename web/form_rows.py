"""Arrays of objects in JSON-schema forms ("a list of rows"): a table of inputs, one row per item plus blank
rows to fill in, without JavaScript (web/static/form-rows.js only adds an "add row" button).

Inputs are named `<field>[<row>][<column>]`; a row left entirely blank is dropped on submit, so clearing a row
removes it. Columns are the item schema's scalar properties (text, number, integer, date, boolean, enum).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.forms import compile_form

if TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

BLANK_ROWS = 2  # empty rows offered after the filled ones (ui:options.blankRows changes it)
MAX_ROWS = 200
_SCALARS = {"string", "integer", "number", "boolean"}
_CELL = re.compile(r"^(?P<field>[^\[\]]+)\[(?P<row>\d{1,4})\]\[(?P<col>[^\[\]]+)\]$")


@dataclass
class RowColumn:
    """One column of a rows field: an item property."""

    name: str
    title: str
    kind: str  # text | number | integer | date | checkbox | select
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)


def item_schema(prop: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The item schema when `prop` is an array of flat objects (every property a scalar), else None."""
    items = prop.get("items")
    if prop.get("type") != "array" or not isinstance(items, Mapping) or items.get("type") != "object":
        return None
    props = items.get("properties")
    if not isinstance(props, Mapping) or not props:
        return None
    if not all(isinstance(p, Mapping) and (p.get("type") in _SCALARS or "enum" in p) for p in props.values()):
        return None
    return items


def _kind(prop: Mapping[str, Any]) -> str:
    if "enum" in prop:
        return "select"
    kind = prop.get("type")
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return kind
    return "date" if prop.get("format") == "date" else "text"


def columns(items: Mapping[str, Any]) -> list[RowColumn]:
    """The columns of a rows field, in the item schema's property order."""
    required = set(items.get("required") or [])
    result = []
    for name, prop in items["properties"].items():
        titles = prop.get("x-enumTitles") or prop.get("enumNames") or []
        options = [(str(v), str(titles[i]) if i < len(titles) else str(v))
                   for i, v in enumerate(prop.get("enum") or []) if v is not None]
        result.append(RowColumn(name, str(prop.get("title") or name), _kind(prop), name in required, options))
    return result


def blank_rows(ui: Mapping[str, Any]) -> int:
    options = ui.get("ui:options") if isinstance(ui.get("ui:options"), Mapping) else {}
    value = options.get("blankRows", BLANK_ROWS)
    return value if isinstance(value, int) and 0 <= value <= 20 else BLANK_ROWS


def _typed(prop: Mapping[str, Any], raw: str) -> Any:
    """A submitted cell as its schema type; text that is not a number stays text (validation reports it)."""
    for choice in prop.get("enum") or []:
        if str(choice) == raw:
            return choice
    kind = prop.get("type")
    if kind == "boolean":
        return raw.strip().lower() in {"on", "true", "1", "yes"}
    if kind in ("integer", "number"):
        text = raw.strip()
        try:
            number = float(text)
        except ValueError:
            return text
        if not math.isfinite(number):
            return text
        return int(number) if number.is_integer() and (kind == "integer" or "." not in text) else number
    return raw.replace("\r\n", "\n")


def parse_rows(name: str, items: Mapping[str, Any], form: MultiDict[str, str]) -> list[dict] | None:
    """The submitted rows of field `name` in row order; blank rows dropped; None when there are none."""
    cells: dict[int, dict[str, str]] = {}
    props = items["properties"]
    for key in form:
        match = _CELL.match(key)
        if match and match["field"] == name and match["col"] in props and int(match["row"]) < MAX_ROWS:
            raw = form.get(key) or ""
            if raw.strip():
                cells.setdefault(int(match["row"]), {})[match["col"]] = raw
    rows = []
    for index in sorted(cells):
        row = {col: _typed(props[col], raw) for col, raw in cells[index].items()}
        for col, prop in props.items():  # an unticked checkbox is posted as nothing: false
            if prop.get("type") == "boolean" and col not in row:
                row[col] = False
        rows.append(row)
    return rows or None


def cell_errors(items: Mapping[str, Any], rows: Any) -> dict[tuple[int, str], str]:
    """(row, column) -> message for every invalid cell, to show next to it (the field also gets a summary)."""
    if not isinstance(rows, list):
        return {}
    found, row_form = {}, compile_form(items)  # one validator for every row
    for index, row in enumerate(rows):
        if isinstance(row, Mapping):
            for col, message in row_form.errors(dict(row)).items():
                found[(index, col)] = message
    return found


def cell_value(row: Any, column: RowColumn) -> str:
    """A cell's value as the input shows it."""
    value = row.get(column.name) if isinstance(row, Mapping) else None
    if isinstance(value, bool):
        return "true" if value else ""
    return "" if value is None else str(value)


@dataclass
class RowsLayout:
    """What the template needs to draw a rows field: columns, the rows to show (filled, then blank), errors."""

    columns: list[RowColumn]
    rows: list[Any]
    errors: dict[tuple[int, str], str]

    def value(self, index: int, column: RowColumn) -> str:
        return cell_value(self.rows[index], column)

    def error(self, index: int, column: RowColumn) -> str | None:
        return self.errors.get((index, column.name))


def layout(prop: Mapping[str, Any], ui: Mapping[str, Any], value: Any) -> RowsLayout:
    """The rows field drawn from its item schema and current value (a draft, posted rows, or the task data)."""
    items = item_schema(prop) or {"properties": {}}
    filled = [row for row in value if isinstance(row, Mapping)] if isinstance(value, list) else []
    return RowsLayout(columns(items), filled + [{}] * blank_rows(ui), cell_errors(items, filled))
