"""Hostile input: schemathesis generates requests from our own OpenAPI document; no answer may be a 5xx,
and every error keeps the error format. Form validation is property-tested with hypothesis."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.forms import validate_form_data

EXAMPLES_PER_OPERATION = 25
FORM_SCHEMA = {"type": "object", "required": ["unit"], "additionalProperties": False,
               "properties": {"unit": {"type": "string", "minLength": 1}, "count": {"type": "integer"},
                              "day": {"type": "string", "format": "date"}, "ok": {"type": "boolean"}}}


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("role_user", ["dol.admin", "dsw.admin"])
def test_no_generated_request_gets_a_server_error(app, token_for, sim_clock, role_user):
    headers = token_for(role_user)
    operations = _operations(app)
    assert len(operations) >= 15
    for operation in operations:
        if operation.path == "/clock":
            continue  # moving the clock is exercised by its own tests; fuzzing it only moves time

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
            if response.status_code >= 400:
                assert set(response.json()["error"]) >= {"code", "message"}, response.text[:300]

        check()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.one_of(st.none(), st.booleans(), st.integers(), st.text(),
                                                        st.lists(st.integers(), max_size=3)), max_size=6))
def test_form_validation_never_raises_and_names_real_fields(data):
    errors = validate_form_data(FORM_SCHEMA, data)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in errors.items())
    assert set(errors) <= set(FORM_SCHEMA["properties"]) | set(data) | {"_form"}
    if not errors:
        assert isinstance(data.get("unit"), str) and data["unit"]
