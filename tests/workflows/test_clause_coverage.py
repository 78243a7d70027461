"""Every clause of kind `process` in articles 2-6 (regulation/CLAUSES.md) has an implementing BPMN element
(a `regulation` property in bpmn/) and a test that names it, or is listed below as owned by a later process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
CLAUSES_MD = next((p for p in (ROOT.parent / "shared" / "regulation" / "CLAUSES.md",
                               Path("/work/shared/regulation/CLAUSES.md")) if p.exists()),
                  ROOT.parent / "shared" / "regulation" / "CLAUSES.md")
NS = {"spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
ARTICLES = ("二", "三", "四", "五", "六")
# Process clauses of articles 2-6 that processes of other issues implement (process ids as in INTERFACES.md).
# (R2.3 and R4.2 are now master_agency_audit's, R6.4 improper_query_investigation's: none is left over.)
OWNED_BY_LATER_PROCESS: dict[str, str] = {}
STABLE_PROCESS_IDS = {
    "agency_onboarding", "delegation_consent", "user_account_application", "account_revocation",
    "agency_admin_change", "proxy_query_authorization", "password_rotation", "monthly_register_check",
    "quarterly_log_review", "semiannual_internal_audit", "annual_audit_submission", "master_agency_audit",
    "improper_query_investigation", "records_disposition",
}


def _process_clauses() -> list[str]:
    """Clause ids of articles 2-6 whose `kind` column mentions `process`."""
    if not CLAUSES_MD.exists():
        pytest.skip(f"{CLAUSES_MD} is not beside the repository")
    found = []
    for line in CLAUSES_MD.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"R\d+(\.\d+)*", cells[0]) and cells[1].startswith(ARTICLES) \
                and "process" in cells[3]:
            found.append(cells[0])
    return found


def _implemented() -> dict[str, set[str]]:
    """Clause id -> the BPMN files with an element whose `regulation` property names it."""
    implemented: dict[str, set[str]] = {}
    for path in sorted((ROOT / "bpmn").rglob("*.bpmn")):
        root = etree.parse(str(path)).getroot()
        for prop in root.iterfind(".//spiffworkflow:property[@name='regulation']", NS):
            for clause in (c.strip() for c in (prop.get("value") or "").split(",")):
                implemented.setdefault(clause, set()).add(path.name)
    return implemented


def _tested() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))


def test_the_clause_table_lists_the_process_clauses_of_articles_2_to_6():
    assert {"R2.1", "R3.1", "R3.2", "R4.1", "R5.1", "R5.2", "R5.3", "R5.4", "R6.2"} <= set(_process_clauses())


def test_every_process_clause_of_articles_2_to_6_has_an_implementing_bpmn_element():
    implemented = _implemented()
    missing = [c for c in _process_clauses() if c not in implemented and c not in OWNED_BY_LATER_PROCESS]
    assert missing == [], f"process clauses with no BPMN element naming them: {missing}"


def test_every_implemented_process_clause_is_proved_by_a_test_that_names_it():
    implemented, tests = _implemented(), _tested()
    unproved = [c for c in _process_clauses() if c in implemented
                and f"def test_{c.lower().replace('.', '_')}_" not in tests and c not in tests]
    assert unproved == []


def test_clauses_left_to_later_processes_name_stable_process_ids():
    assert set(OWNED_BY_LATER_PROCESS) <= set(_process_clauses())
    assert set(OWNED_BY_LATER_PROCESS.values()) <= STABLE_PROCESS_IDS
