"""Behaviour of server-side JSON-schema forms: field building, submission parsing, validation, rendering."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader
from werkzeug.datastructures import MultiDict

from engine.forms import validate_form_data
from web.forms import FormField, build_fields, parse_submission

TEMPLATES = "/work/main/web/templates"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["unit", "employment_type", "business_items", "application_date", "decision"],
    "properties": {
        "unit": {"type": "string", "title": "申請單位 Unit", "maxLength": 40},
        "employment_type": {
            "type": "string",
            "title": "人員身分 Employment type",
            "enum": ["civil_servant", "contract", "temporary"],
            "x-enumTitles": ["公務人員 Civil servant", "約聘僱 Contract", "臨時人員 Temporary"],
        },
        "business_items": {
            "type": "array",
            "title": "業務項目 Business items",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "enum": ["household", "land", "tax"]},
        },
        "legal_basis": {"type": "string", "title": "法令依據 Legal basis"},
        "application_date": {"type": "string", "format": "date", "title": "申請日期 Application date"},
        "decision": {
            "type": "string",
            "title": "審核結果 Decision",
            "oneOf": [{"const": "grant", "title": "核准 Grant"}, {"const": "deny", "title": "駁回 Deny"}],
        },
        "purpose_checked": {"type": "boolean", "title": "已確認用途 Purpose checked"},
        "urgent": {"type": "boolean", "title": "急件 Urgent", "default": False},
        "copies": {"type": "integer", "title": "份數 Copies", "minimum": 1, "maximum": 10},
        "case_no": {"type": "string", "title": "案號 Case no.", "readOnly": True},
        "attachments": {"type": "array", "items": {"type": "object"}},
    },
    "if": {"properties": {"decision": {"const": "grant"}}, "required": ["decision"]},
    "then": {"properties": {"purpose_checked": {"const": True}}, "required": ["purpose_checked"]},
}

UI_SCHEMA: dict[str, Any] = {
    "ui:order": ["unit", "employment_type", "business_items", "*", "decision"],
    "legal_basis": {"ui:widget": "textarea", "ui:help": "請引用條號 Cite the article"},
    "decision": {"ui:widget": "radio"},
}

VALID: dict[str, Any] = {
    "unit": "民政局",
    "employment_type": "contract",
    "business_items": ["household"],
    "application_date": "2024-05-01",
    "decision": "deny",
}


def fields_by_name(fields: list[FormField]) -> dict[str, FormField]:
    """Index fields by property name for readable assertions."""
    return {f.name: f for f in fields}


def render(fields: list[FormField]) -> str:
    """Render the macro the way a page would, with autoescaping on."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    template = env.from_string(
        '{% from "_jsonschema_form.html" import render_fields %}{{ render_fields(fields) }}'
    )
    return template.render(fields=fields)


def test_fields_follow_ui_order_with_wildcard_for_the_rest():
    names = [f.name for f in build_fields(SCHEMA, UI_SCHEMA, None, None)]
    assert names == [
        "unit", "employment_type", "business_items", "legal_basis", "application_date",
        "purpose_checked", "urgent", "copies", "case_no", "attachments", "decision",
    ]


def test_fields_follow_schema_order_without_ui_order():
    names = [f.name for f in build_fields(SCHEMA, None, None, None)]
    assert names == list(SCHEMA["properties"])


def test_widgets_are_chosen_from_schema_and_ui_schema():
    widgets = {f.name: f.widget for f in build_fields(SCHEMA, UI_SCHEMA, None, None)}
    assert widgets == {
        "unit": "text",
        "employment_type": "select",
        "business_items": "checkboxes",
        "legal_basis": "textarea",
        "application_date": "date",
        "decision": "radio",
        "purpose_checked": "checkbox",
        "urgent": "checkbox",
        "copies": "integer",
        "case_no": "readonly",
        "attachments": "readonly",
    }


def test_enum_labels_come_from_x_enum_titles_then_one_of_then_value():
    fields = fields_by_name(build_fields(SCHEMA, UI_SCHEMA, None, None))
    assert fields["employment_type"].options == [
        ("civil_servant", "公務人員 Civil servant"),
        ("contract", "約聘僱 Contract"),
        ("temporary", "臨時人員 Temporary"),
    ]
    assert fields["decision"].options == [("grant", "核准 Grant"), ("deny", "駁回 Deny")]
    assert fields["business_items"].options == [("household", "household"), ("land", "land"), ("tax", "tax")]


def test_fields_carry_required_flags_hints_values_and_errors():
    data = {"unit": "民政局", "copies": 3}
    fields = fields_by_name(build_fields(SCHEMA, UI_SCHEMA, data, {"unit": "必填 Required"}))
    assert fields["unit"].required and not fields["legal_basis"].required
    assert fields["unit"].value == "民政局" and fields["unit"].maxlength == 40
    assert fields["unit"].error == "必填 Required" and fields["copies"].error is None
    assert (fields["copies"].minimum, fields["copies"].maximum, fields["copies"].step) == (1, 10, "1")
    assert fields["urgent"].value is False  # schema default when data lacks the key
    assert fields["legal_basis"].help == "請引用條號 Cite the article"


def test_ui_readonly_and_unsupported_shapes_render_readonly_json():
    ui = {"unit": {"ui:readonly": True}}
    data = {"attachments": [{"name": "a.pdf"}]}
    fields = fields_by_name(build_fields(SCHEMA, ui, data, None))
    assert fields["unit"].widget == "readonly"
    assert fields["attachments"].widget == "readonly"
    assert '"name": "a.pdf"' in fields["attachments"].display


def test_parse_submission_types_values_per_schema():
    form = MultiDict([
        ("unit", "民政局"), ("employment_type", "contract"),
        ("business_items", "household"), ("business_items", "tax"),
        ("legal_basis", ""), ("application_date", "2024-05-01"), ("decision", "grant"),
        ("purpose_checked", "on"), ("copies", "3"), ("csrf_token", "secret"), ("hacker", "x"),
    ])
    data = parse_submission(SCHEMA, form)
    assert data == {
        "unit": "民政局",
        "employment_type": "contract",
        "business_items": ["household", "tax"],
        "application_date": "2024-05-01",
        "decision": "grant",
        "purpose_checked": True,
        "urgent": False,
        "copies": 3,
    }


def test_parse_submission_keeps_unparseable_integer_raw_and_absent_checkboxes_false():
    data = parse_submission(SCHEMA, MultiDict([("copies", "three"), ("unit", "  ")]))
    assert data["copies"] == "three"
    assert data["purpose_checked"] is False and data["urgent"] is False
    assert data["business_items"] == []
    assert "unit" not in data and "legal_basis" not in data


def test_parse_submission_takes_readonly_values_from_current_data_not_the_form():
    form = MultiDict([("case_no", "FORGED"), ("attachments", "[]")])
    current = {"case_no": "A-001", "attachments": [{"name": "a.pdf"}]}
    data = parse_submission(SCHEMA, form, None, current)
    assert data["case_no"] == "A-001"
    assert data["attachments"] == [{"name": "a.pdf"}]


def test_valid_data_has_no_errors():
    assert validate_form_data(SCHEMA, VALID) == {}


def test_missing_required_field_is_reported_by_name():
    data = {k: v for k, v in VALID.items() if k != "unit"}
    assert validate_form_data(SCHEMA, data) == {"unit": "必填 Required"}


def test_every_failing_field_is_reported_with_bad_date_and_enum():
    data = VALID | {"application_date": "2024-13-45", "employment_type": "boss", "copies": "three"}
    errors = validate_form_data(SCHEMA, data)
    assert set(errors) == {"application_date", "employment_type", "copies"}
    assert "日期" in errors["application_date"]
    assert errors["employment_type"] == "不在可選項目中 Not an allowed option"
    assert "整數" in errors["copies"]


def test_empty_checkbox_list_violates_min_items():
    errors = validate_form_data(SCHEMA, VALID | {"business_items": []})
    assert errors == {"business_items": "請至少選擇 1 項 Select at least 1"}


def test_if_then_rule_error_is_keyed_by_the_dependent_field():
    granted = VALID | {"decision": "grant", "purpose_checked": False}
    assert validate_form_data(SCHEMA, granted) == {"purpose_checked": "必須勾選 Must be checked"}
    missing = {k: v for k, v in granted.items() if k != "purpose_checked"}
    assert validate_form_data(SCHEMA, missing) == {"purpose_checked": "必填 Required"}
    assert validate_form_data(SCHEMA, granted | {"purpose_checked": True}) == {}


def test_additional_properties_are_keyed_by_the_unexpected_names():
    errors = validate_form_data(SCHEMA, VALID | {"salary": 1, "rank": "x"})
    assert errors == {"salary": "不允許的欄位 Unexpected field", "rank": "不允許的欄位 Unexpected field"}


def test_non_object_data_is_a_form_level_error():
    errors = validate_form_data(SCHEMA, ["not", "an", "object"])
    assert list(errors) == ["_form"]


def test_submission_round_trip_reports_errors_for_the_rendered_form():
    form = MultiDict([("unit", "民政局"), ("decision", "grant"), ("copies", "0")])
    errors = validate_form_data(SCHEMA, parse_submission(SCHEMA, form))
    assert set(errors) == {
        "employment_type", "business_items", "application_date", "purpose_checked", "copies",
    }


def test_rendering_escapes_values_and_shows_errors_accessibly():
    data = {"unit": '<script>alert("x")</script>', "business_items": ["land"], "decision": "deny",
            "urgent": True, "copies": "three"}
    errors = {"copies": "須為整數 Must be a whole number"}
    html = render(build_fields(SCHEMA, UI_SCHEMA, data, errors))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert 'role="alert">須為整數 Must be a whole number</p>' in html
    assert 'id="field-copies" name="copies" value="three"' in html
    assert 'aria-invalid="true"' in html and 'aria-describedby="field-copies-error"' in html
    assert '<label for="field-unit">' in html


def test_rendering_keeps_checked_and_selected_states():
    data = {"employment_type": "contract", "business_items": ["land"], "decision": "deny", "urgent": True}
    html = render(build_fields(SCHEMA, UI_SCHEMA, data, None))
    assert '<option value="contract" selected>' in html
    assert 'name="business_items" value="land" checked' in html
    assert 'name="business_items" value="tax">' in html
    assert 'name="decision" value="deny" checked' in html
    assert 'name="urgent" value="true" checked' in html
    assert 'name="purpose_checked" value="true">' in html
    assert 'name="case_no"' not in html  # read-only values are shown, never submitted
