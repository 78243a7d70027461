"""Regulation traceability (workflows/trace.py): what implements each clause and which tests prove it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.bundle import ModelFile
from engine.specs import latest_model_files
from workflows import bundled, trace
from workflows.clauses import CLAUSES, KINDS, implements, is_enforced

ROOT = Path(__file__).resolve().parents[2]
CLAUSES_MD = ROOT.parent / "shared" / "regulation" / "CLAUSES.md"


def _table_rows() -> list[list[str]]:
    if not CLAUSES_MD.exists():
        pytest.skip(f"{CLAUSES_MD} is not beside the repository")
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in CLAUSES_MD.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if len(r) == 4 and re.fullmatch(r"R\d+(\.\d+)*", r[0])]


def test_the_copied_clause_ids_and_kinds_match_the_regulation_table():
    rows = _table_rows()
    assert [r[0] for r in rows] == list(KINDS) == list(CLAUSES)
    assert {r[0]: r[3] for r in rows} == KINDS


def test_enforced_kinds_are_process_cycle_rule_retention_and_evidence():
    assert is_enforced("R8.1.6") and is_enforced("R6.1") and is_enforced("R3.5") and is_enforced("R6.3")
    assert is_enforced("R7.2") and is_enforced("R8.1.5")
    assert not any(is_enforced(c) for c in ("R1", "R2.2", "R3.4", "R6.6", "R7.1", "R9"))


@pytest.mark.clause("R7.4")
def test_diagram_elements_rules_forms_and_code_are_listed_under_their_clauses():
    rows = {row.clause: row for row in trace.bundled_trace().clauses}
    r74 = rows["R7.4"].implemented_by
    assert "records_disposition" in r74["diagram"]  # the process itself
    assert "records_disposition:approve_destruction_list" in r74["diagram"]
    assert "obligations.json#annual_records_disposition" in r74["rule"]
    assert "forms/records_destruction_approval.schema.json" in r74["form"]
    assert "workflows/org.py::grant_role" in rows["R5.5"].implemented_by["code"]
    assert "separation_of_duties.json#auditors_do_not_operate" in rows["R3.5"].implemented_by["rule"]
    assert "rules/approved_business_purposes.json" in rows["R2.1"].implemented_by["rule"]
    assert rows["R1"].flags == ["no_implementation", "no_test"]


def test_markers_on_functions_classes_and_modules_are_found_by_reading_the_source(tmp_path):
    tests_dir = tmp_path / "tests"
    (tests_dir / "sub").mkdir(parents=True)
    (tests_dir / "sub" / "test_a.py").write_text(
        "import pytest\n"
        "pytestmark = [pytest.mark.clause('R9'), pytest.mark.skipif(False, reason='')]\n\n"
        "@pytest.mark.clause('R1', 'R2.1')\n"
        "def test_one():\n    pass\n\n"
        "@pytest.mark.clause('R3.1')\n"
        "class TestGroup:\n"
        "    @pytest.mark.clause('R3.2')\n"
        "    def test_two(self):\n        pass\n\n"
        "def helper():\n    pass\n", encoding="utf-8")
    (tests_dir / "test_b.py").write_text("import pytest\n\n@pytest.mark.clause('R77')\ndef test_x():\n    pass\n",
                                         encoding="utf-8")
    (tests_dir / "test_broken.py").write_text("def test_(:\n", encoding="utf-8")
    result = trace.build([], tests_dir)
    tested = {row.clause: row.tested_by for row in result.clauses if row.tested_by}
    assert tested == {"R1": ["tests/sub/test_a.py::test_one"], "R2.1": ["tests/sub/test_a.py::test_one"],
                      "R3.1": ["tests/sub/test_a.py::TestGroup::test_two"],
                      "R3.2": ["tests/sub/test_a.py::TestGroup::test_two"],
                      "R9": ["tests/sub/test_a.py::TestGroup::test_two", "tests/sub/test_a.py::test_one"]}
    assert any("test_b.py::test_x" in p and "'R77'" in p for p in result.problems)
    assert any(p.startswith("tests/test_broken.py: not read") for p in result.problems)
    (tests_dir / "test_b.py").write_text("import pytest\n\n@pytest.mark.clause('R5.5')\ndef test_x():\n    pass\n",
                                         encoding="utf-8")
    again = trace.build([], tests_dir)  # a changed test file is read again
    assert next(r for r in again.clauses if r.clause == "R5.5").tested_by == ["tests/test_b.py::test_x"]
    assert not any("R77" in p for p in again.problems)



def test_a_test_named_after_its_clause_proves_the_longest_known_clause_id(tmp_path):
    tests_dir = tmp_path / "tests"
    tests_dir.mkdir()
    (tests_dir / "test_c.py").write_text(
        "def test_r8_1_2_monthly_check():\n    pass\n\n"
        "def test_r8_2_1_deficiency():\n    pass\n\n"  # no R8.2.1: R8.2
        "def test_r99_unknown():\n    pass\n\n"
        "def test_rights_moved():\n    pass\n", encoding="utf-8")
    tested = {row.clause: row.tested_by for row in trace.build([], tests_dir).clauses if row.tested_by}
    assert tested == {"R8.1.2": ["tests/test_c.py::test_r8_1_2_monthly_check"],
                      "R8.2": ["tests/test_c.py::test_r8_2_1_deficiency"]}

def test_a_model_naming_an_unknown_clause_or_unreadable_is_reported_not_fatal():
    bpmn = (bundled.BUNDLED_DIR / "records_disposition.bpmn").read_text(encoding="utf-8")
    files = [ModelFile("records_disposition.bpmn", bpmn.replace('value="R7.4" />', 'value="R7.4, R99" />', 1)
                       .encode()),
             ModelFile("broken.bpmn", b"<not xml"), ModelFile("rules/x.json", b"{nope")]
    result = trace.build(files, None)
    assert "records_disposition:start_event: names unknown clause 'R99'" in result.problems
    assert any(p.startswith("broken.bpmn: not read") for p in result.problems)
    assert any(p.startswith("rules/x.json: not read") for p in result.problems)
    assert result.tests_dir is None and all(not row.tested_by for row in result.clauses)


def test_implements_refuses_unknown_clause_ids():
    with pytest.raises(ValueError, match="R42"):
        implements("R42")
    with pytest.raises(ValueError):
        implements()


def test_every_clause_named_in_the_product_and_its_tests_is_a_known_clause():
    assert trace.bundled_trace().problems == []


def test_deployed_models_are_traced_rather_than_the_bundled_ones(org_db):
    bpmn = (bundled.BUNDLED_DIR / "records_disposition.bpmn").read_text(encoding="utf-8")
    changed = bpmn.replace('<spiffworkflow:property name="regulation" value="R7.4" />',
                           '<spiffworkflow:property name="regulation" value="R7.4,R9" />', 1)
    with org_db.transaction() as session:
        bundled.deploy_files(session, [ModelFile("records_disposition.bpmn", changed.encode())], "analyst", "test")
    with org_db.sessions() as session:
        assert any(f.filename == "records_disposition.bpmn" for f in latest_model_files(session))
        result = trace.deployed_trace(session)
    r9 = next(row for row in result.clauses if row.clause == "R9")
    assert result.source == "deployed" and r9.implemented_by["diagram"] == ["records_disposition:start_event"]
    assert not next(row for row in trace.bundled_trace().clauses if row.clause == "R9").implementations


def test_an_empty_database_falls_back_to_the_bundled_models(db):
    with db.sessions() as session:
        result = trace.deployed_trace(session)
    assert result.source == "bundled" and next(r for r in result.clauses if r.clause == "R7.4").implementations
