"""`webir trace` and the `/regulation` page: the regulation clause by clause, what implements it, what tests it."""

from __future__ import annotations

import json

from click.testing import CliRunner
from session_helpers import login, token_of

from web.cli import main
from workflows.clauses import KINDS, is_enforced


def _trace(*args: str):
    result = CliRunner().invoke(main, ["trace", *args], catch_exceptions=False)
    return result


def test_webir_trace_lists_every_process_cycle_rule_retention_and_evidence_clause_as_implemented_and_tested():
    result = _trace("--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["clause"] for r in rows] == list(KINDS)
    assert all(set(r) == {"clause", "kind", "implemented_by", "tested_by"} for r in rows)
    assert {r["clause"]: r["kind"] for r in rows} == KINDS
    enforced = [r for r in rows if is_enforced(r["clause"])]
    missing = {r["clause"]: (len(r["implemented_by"]), len(r["tested_by"])) for r in enforced
               if not (r["implemented_by"] and r["tested_by"])}
    assert missing == {}, f"clauses with no implementation or no test (implementations, tests): {missing}"


def test_webir_trace_text_flags_what_lacks_an_implementation_or_a_test():
    result = _trace()
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    r1 = next(line for line in lines if line.startswith("R1 "))
    assert "無實作 NO IMPLEMENTATION" in r1 and "not required" in r1
    assert any(line.startswith("R7.4 [cycle (yearly)]") and line.endswith(": OK") for line in lines)
    assert "  圖 diagram: " in result.stdout and "  測試 tests (" in result.stdout


def test_webir_trace_without_a_tests_folder_says_so_plainly_and_strict_fails(tmp_path):
    result = _trace("--tests", str(tmp_path / "absent"), "--strict")
    assert result.exit_code == 1
    assert f"no tests folder at {tmp_path / 'absent'}" in result.stderr
    assert "lack an implementation or a test" in result.stderr and "R7.4" in result.stderr
    assert "Traceback" not in result.stderr


def test_webir_trace_deployed_reads_the_database(org_db, tmp_path, monkeypatch):
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("WEBIR_DATABASE_URL", org_db.engine.url.render_as_string(hide_password=False))
    result = _trace("--deployed")
    assert result.exit_code == 0, result.stderr
    assert "models: deployed" in result.stdout


def test_regulation_page_shows_every_clause_with_implementations_tests_and_flags(client, users):
    login(client, "dol.audit")
    page = client.get("/regulation").get_data(as_text=True)
    assert "法規對照" in page and token_of(page)
    for clause in KINDS:
        assert f'id="clause-{clause}"' in page
    assert "records_disposition:approve_destruction_list" in page
    assert "tests/workflows/test_obligation_processes.py::test_r7_4_yearly_destruction_list_is_approved_by_the_head" \
        in page
    assert "無實作" in page and "已實作並測試" in page
    flagged = client.get("/regulation?flagged=1").get_data(as_text=True)
    assert 'id="clause-R1"' not in flagged  # context clauses are not required
    assert 'id="clause-R7.4"' not in flagged


def test_regulation_page_needs_login(client):
    response = client.get("/regulation")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
