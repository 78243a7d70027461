"""Model registry: versions, content hash, inheritance, and refusal of invalid models as a whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.bundle import BundleError, ModelFile
from engine.models import Deployment, ProcessVersion
from engine.specs import latest_version
from workflows import bundled

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "user_account_application.bpmn"


def _deploy(db, files):
    with db.transaction() as session:
        return bundled.deploy_files(session, files, "tester", "test")


def _count(db, model) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_bundled_models_deploy_once_and_redeploy_is_a_no_op(org_db):
    with org_db.transaction() as session:
        again = bundled.deploy_bundled(session)
    assert again.unchanged
    assert {"user_account_application", "obligation_escalation"} <= set(again.process_ids)
    assert _count(org_db, Deployment) == 1


def test_process_version_records_clauses_and_lane_roles(org_db):
    with org_db.sessions() as session:
        version = latest_version(session, "user_account_application")
    assert {"R5.3", "R5.5"} <= set(version.clauses)
    assert version.lane_roles == {"applicant": "applicant", "unit_admin": "unit_admin", "agency_admin": "agency_admin"}


def test_partial_deploy_inherits_forms_from_latest_version(org_db):
    changed = BPMN.read_text(encoding="utf-8").replace("審核申請 Review application", "審核 Review (v2)")
    result = _deploy(org_db, [ModelFile("user_account_application.bpmn", changed.encode())])
    assert result.version == 2 and not result.unchanged
    assert "forms/form_1_2.schema.json" in result.inherited


def test_invalid_xml_is_refused_with_file_and_line_and_nothing_changes(org_db):
    before = _count(org_db, ProcessVersion)
    broken = BPMN.read_bytes().replace(b"</bpmn:process>", b"", 1)
    with pytest.raises(BundleError) as refused:
        _deploy(org_db, [ModelFile("user_account_application.bpmn", broken)])
    problem = refused.value.problems[0]
    assert problem.file == "user_account_application.bpmn" and problem.line
    assert _count(org_db, ProcessVersion) == before
    with org_db.sessions() as session:
        assert latest_version(session, "user_account_application").deployment_id == 1


def test_lane_that_is_no_role_is_refused_by_name(org_db):
    bad = BPMN.read_text(encoding="utf-8").replace('name="agency_admin"', 'name="nobody"')
    with pytest.raises(BundleError) as refused:
        _deploy(org_db, [ModelFile("user_account_application.bpmn", bad.encode())])
    assert any("nobody" in p.reason and p.element == "review_application" for p in refused.value.problems)


def test_lanes_json_maps_foreign_lane_names_to_roles(org_db):
    bad = BPMN.read_text(encoding="utf-8").replace('name="agency_admin"', 'name="Reviewers"')
    lanes = ModelFile("lanes.json", b'{"Reviewers": "agency_admin"}')
    result = _deploy(org_db, [ModelFile("user_account_application.bpmn", bad.encode()), lanes])
    with org_db.sessions() as session:
        assert latest_version(session, "user_account_application").lane_roles["Reviewers"] == "agency_admin"
    assert result.version == 2


def test_script_with_import_is_refused_naming_the_element(org_db):
    text = BPMN.read_text(encoding="utf-8")
    bad = text.replace('outcome = "granted"', 'import os\noutcome = "granted"', 1)
    assert bad != text
    with pytest.raises(BundleError) as refused:
        _deploy(org_db, [ModelFile("user_account_application.bpmn", bad.encode())])
    assert any("imports are not allowed" in p.reason and p.element for p in refused.value.problems)


def test_invalid_form_schema_is_refused(org_db):
    form = ModelFile("forms/form_1_2.schema.json", b'{"type": "object", "properties": {"x": {"type": 5}}}')
    with pytest.raises(BundleError) as refused:
        _deploy(org_db, [ModelFile("user_account_application.bpmn", BPMN.read_bytes()), form])
    assert refused.value.problems[0].file == "forms/form_1_2.schema.json"


def test_file_with_wrong_suffix_or_escaping_path_is_refused(org_db):
    with pytest.raises(BundleError) as refused:
        _deploy(org_db, [ModelFile("../evil.bpmn", b"<x/>"), ModelFile("notes.txt", b"hi")])
    reasons = {p.file: p.reason for p in refused.value.problems}
    assert "relative path" in reasons["../evil.bpmn"] and ".bpmn" in reasons["notes.txt"]



def test_nul_characters_are_refused_by_file_before_the_database_sees_them(org_db):
    form = ModelFile("forms/form_1_2.schema.json", b'{"type": "object", "title": "a\\u0000b"}')
    raw = ModelFile("raw.bpmn", BPMN.read_bytes().replace(b"<bpmn:process", b"<bpmn:process\x00", 1))
    with pytest.raises(BundleError) as refused:
        _deploy(org_db, [ModelFile("user_account_application.bpmn", BPMN.read_bytes()), form, raw])
    reasons = {p.file: p.reason for p in refused.value.problems}
    assert "NUL" in reasons["forms/form_1_2.schema.json"] and "NUL" in reasons["raw.bpmn"]
    assert _count(org_db, Deployment) == 1  # only the bundled deploy of the fixture

def test_broken_obligations_calendar_is_refused_with_the_obligation_named(org_db):
    bad = b'{"obligations": [{"id": "monthly_register_check", "clauses": ["R3.3"], "process_id": "x", ' \
          b'"cadence": "fortnightly", "due": {}, "responsible_role": "unit_admin"}]}'
    with pytest.raises(BundleError) as refused:
        _deploy(org_db, [ModelFile("user_account_application.bpmn", BPMN.read_bytes()),
                         ModelFile("obligations.json", bad)])
    assert refused.value.problems[0].file == "obligations.json"
    assert "monthly_register_check" in refused.value.problems[0].reason


def test_service_task_sharing_its_id_with_its_operator_is_refused(org_db):
    text = BPMN.read_text(encoding="utf-8").replace('id="record_account_application"', 'id="record_application"')
    with pytest.raises(BundleError) as refused:
        _deploy(org_db, [ModelFile("user_account_application.bpmn", text.encode())])
    assert any(p.element == "record_application" and "reuses the id" in p.reason for p in refused.value.problems)
