"""The `webir` command as a user runs it: one-line reasons, exit codes, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"


def test_init_db_creates_schema_deploys_models_and_loads_demo_once(webir):
    first = webir("init-db", "--demo")
    assert first.exit_code == 0 and "demo organisation loaded" in first.output
    again = webir("init-db", "--demo")
    assert again.exit_code == 0 and "unchanged" in again.output and "already present" in again.output


def test_agency_user_and_token_commands(webir):
    webir("init-db")
    assert webir("agency", "create", "DSW", "--name", "社會局", "--approved-on", "2026-12-01").exit_code == 0
    assert webir("agency", "create", "DAAN", "--name", "大安區公所", "--delegated-by", "DSW").exit_code == 0
    made = webir("user", "create", "amy", "--agency", "DSW", "--role", "agency_admin", "--password", "long-password")
    assert made.exit_code == 0
    token = webir("token", "create", "amy")
    assert token.exit_code == 0 and len(token.output.strip().splitlines()) == 1
    assert token.output.startswith("wbr_")


@pytest.mark.parametrize(("args", "reason"), [
    (("agency", "create", "DAAN", "--name", "x", "--delegated-by", "NOPE"), "agency 'NOPE' does not exist"),
    (("user", "create", "bob", "--agency", "NOPE", "--password", "long-password"), "agency 'NOPE' does not exist"),
    (("user", "create", "bob", "--agency", "DOL", "--role", "wizard", "--password", "long-password"),
     "unknown role 'wizard'"),
    (("user", "create", "bob", "--agency", "DOL", "--password", "short"), "at least 8 characters"),
    (("token", "create", "nobody"), "user 'nobody' does not exist"),
])
def test_user_errors_exit_1_with_one_line_reason(webir, args, reason):
    webir("init-db")
    webir("agency", "create", "DOL", "--name", "勞動局", "--master")
    result = webir(*args)
    assert result.exit_code == 1
    assert reason in result.output and "Traceback" not in result.output


def test_deploy_prints_process_and_version_and_refuses_invalid_files(webir, tmp_path):
    webir("init-db")
    changed = tmp_path / "user_account_application.bpmn"
    changed.write_text((BPMN_DIR / "user_account_application.bpmn").read_text(encoding="utf-8")
                       .replace("P5D", "P6D"), encoding="utf-8")
    ok = webir("deploy", str(changed))
    assert ok.exit_code == 0 and ok.output.strip() == "user_account_application 2"
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>")
    refused = webir("deploy", str(broken))
    assert refused.exit_code == 1 and "broken.bpmn" in refused.output and "Traceback" not in refused.output


def test_clock_commands_move_the_simulated_clock_and_open_periods(webir):
    webir("init-db")
    webir("agency", "create", "DOL", "--name", "勞動局", "--master")
    webir("clock", "set", "2026-12-15T09:00:00+08:00")
    webir("agency", "create", "TPE", "--name", "測試機關", "--approved-on", "2026-12-01")
    assert webir("clock", "show").output.startswith("2026-12-15T09:00:00+08:00 (simulated)")
    moved = webir("clock", "advance", "P1M")
    assert moved.exit_code == 0 and "periods opened" in moved.output
    listing = webir("obligations", "--agency", "TPE", "--year", "2026").output
    assert "monthly_register_check" in listing and "2026-12" in listing and "open" in listing
    back = webir("clock", "set", "2026-01-01T00:00:00+08:00")
    assert back.exit_code == 1 and "only moves forward" in back.output
    bad = webir("clock", "advance", "one month")
    assert bad.exit_code != 0 and "ISO 8601 duration" in bad.output


def test_audit_verify_names_the_first_edited_event(webir, tmp_path):
    import sqlite3

    webir("init-db", "--demo")
    assert "audit log intact" in webir("audit", "verify").output
    database = tmp_path / "instance" / "webir.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE audit_event SET actor = 'mallory' WHERE id = 7")
    broken = webir("audit", "verify")
    assert broken.exit_code == 1 and "audit log broken at event 7" in broken.output


def test_backup_then_restore_keeps_a_verified_audit_chain(webir, tmp_path):
    webir("init-db", "--demo")
    copy = tmp_path / "backup.sqlite3"
    made = webir("backup", str(copy))
    assert made.exit_code == 0 and "chain intact" in made.output
    assert webir("backup", str(copy)).exit_code == 1  # never overwrites
    webir("agency", "create", "NEW", "--name", "after the backup")
    restored = webir("restore", str(copy), "--yes")
    assert restored.exit_code == 0 and "audit events verified" in restored.output
    assert "agency 'NEW' already exists" not in webir("agency", "create", "NEW", "--name", "again").output
