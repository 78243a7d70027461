"""Query records over the REST API and the CLI: uploads (R8.1.1), register entries (R6.1), reconciliation."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from sqlalchemy import func, select

from engine.models import User
from workflows import demo, org
from workflows.models_records import ImportedFile, QueryLogRecord, RegisterEntry

API = "/api/v1"
LOG = ("查詢時間,查詢者帳號,被查詢人身分證號,查詢項目,案件編號\n"
       "113/06/05 10:00:00,dsw.user,A1,投保資料,C1\n"
       "113/06/05 21:00:00,dsw.user,A2,投保資料,C2\n"
       "2024-06-31 10:00:00,dsw.user,A3,投保資料,C3\n")
REGISTER = ("案件編號,查詢人員,查詢日期,查詢目的,被查詢人身分證號\n"
            "C1,dsw.user,113/06/05,查核,A1\nC9,dsw.user,113/06/06,查核,\n")
FINDINGS = ["matched", "logged_not_registered", "querier_mismatch", "registered_not_logged", "off_hours",
            "unauthorized_account", "outside_business_scope"]


@pytest.fixture
def org_db(db):
    """The demo organisation (the records need no process model)."""
    with db.transaction() as session:
        demo.load_demo(session, dt.date(2026, 1, 1))
    return db


def _upload(client, headers, path, content: bytes, agency="DSW", name="log.csv"):
    data = {"file": (io.BytesIO(content), name)}
    if agency:
        data["agency"] = agency
    return client.post(f"{API}{path}", headers=headers, data=data, content_type="multipart/form-data")


@pytest.mark.clause("R8.1.1")
def test_r8_1_1_query_log_upload_answers_201_with_imported_and_rejected_lines(client, token_for, org_db):
    answer = _upload(client, token_for("dsw.admin"), "/query-logs", LOG.encode("utf-8-sig"))
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["imported"] == 2 and body["rejected"][0]["line"] == 4 and "real date-time" in body["rejected"][0][
        "reason"]
    again = _upload(client, token_for("dsw.admin"), "/query-logs", LOG.encode("utf-8-sig")).get_json()
    assert again["imported"] == 0 and again["duplicates"] == 2
    with org_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(QueryLogRecord)) == 2
        assert session.scalar(select(ImportedFile.imported_by)) == "dsw.admin"


@pytest.mark.parametrize(("content", "status", "code"), [
    (b"", 422, "file_refused"),
    (b"who,what\nx,y\n", 422, "file_refused"),
    (b"\xff\xfe\x00garbage", 422, "file_refused"),
])
def test_malformed_upload_is_refused_whole(client, token_for, org_db, content, status, code):
    answer = _upload(client, token_for("dsw.admin"), "/query-logs", content)
    assert answer.status_code == status and answer.get_json()["error"]["code"] == code
    assert answer.get_json()["error"]["message"]
    with org_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ImportedFile)) == 0


def test_upload_needs_a_file_a_record_keeper_role_and_a_visible_agency(client, token_for):
    admin = token_for("dsw.admin")
    missing = client.post(f"{API}/query-logs", headers=admin, data={"agency": "DSW"},
                          content_type="multipart/form-data")
    assert missing.status_code == 400
    assert _upload(client, token_for("dsw.staff"), "/query-logs", LOG.encode()).status_code == 403
    assert _upload(client, admin, "/query-logs", LOG.encode(), agency="DAAN").status_code == 201  # commissioned
    assert _upload(client, token_for("daan.admin"), "/query-logs", LOG.encode(), agency="DSW").status_code == 404


@pytest.mark.clause("R6.1")
def test_r6_1_register_file_upload_and_entry_recorded_over_the_api(client, token_for, org_db):
    assert _upload(client, token_for("dsw.unit"), "/register-files", REGISTER.encode("cp950")).get_json()[
        "imported"] == 2
    user = token_for("dsw.user")
    made = client.post(f"{API}/register-entries", headers=user,
                       json={"case_number": "C2", "query_time": "2024-06-05T21:00:00", "purpose": "查核"})
    assert made.status_code == 201 and made.get_json()["querier"] == "dsw.user"
    fixed = client.post(f"{API}/register-entries", headers=user, json={
        "case_number": "C2", "query_time": "2024-06-05T21:00:00", "purpose": "查核", "subject_id": "A2",
        "corrects": made.get_json()["id"]})
    assert fixed.status_code == 201 and fixed.get_json()["corrects"] == made.get_json()["id"]
    invalid = client.post(f"{API}/register-entries", headers=user, json={"case_number": "C3", "purpose": "x"})
    assert invalid.status_code == 422 and "query_date" in invalid.get_json()["error"]["details"]["fields"]
    other = client.post(f"{API}/register-entries", headers=token_for("daan.admin"),
                        json={"agency": "DSW", "case_number": "C4", "query_time": "2024-06-05", "purpose": "x"})
    assert other.status_code == 404
    with org_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RegisterEntry)) == 4


@pytest.mark.clause("R5.4", "R6.1")
def test_r5_4_revoked_user_can_no_longer_register_queries_nor_can_staff_without_webir(client, token_for, org_db):
    user, staff = token_for("dsw.user"), token_for("dsw.staff")
    entry = {"case_number": "C7", "query_time": "2024-06-05T10:00:00", "purpose": "查核"}
    assert client.post(f"{API}/register-entries", headers=user, json=entry).status_code == 201
    refused = client.post(f"{API}/register-entries", headers=staff, json={**entry, "case_number": "C8"})
    assert refused.status_code == 403 and "WebIR" in refused.get_json()["error"]["message"]
    with org_db.transaction() as session:
        dsw = org.agency_by_code(session, "DSW")
        org.revoke_role(session, session.scalar(select(User).where(User.username == "dsw.user")), dsw, "user")
    assert client.post(f"{API}/register-entries", headers=user, json={**entry, "case_number": "C9"}).status_code == 403
    with org_db.sessions() as session:
        assert session.scalars(select(RegisterEntry.case_number)).all() == ["C7"]

@pytest.mark.clause("R8.1.2")
def test_r8_1_2_reconciliation_over_the_api_counts_every_finding_type(client, token_for):
    admin = token_for("dsw.admin")
    _upload(client, admin, "/query-logs", LOG.encode())
    _upload(client, admin, "/register-files", REGISTER.encode())
    answer = client.post(f"{API}/reconciliations", headers=admin, json={"agency": "DSW", "period": "2024-06"})
    assert answer.status_code == 201
    body = answer.get_json()
    assert set(body["counts"]) == set(FINDINGS) and body["counts"]["off_hours"] == 1
    assert body["counts"]["matched"] == 1 and body["counts"]["registered_not_logged"] == 1
    assert "R3.3" in body["summary"]
    report = client.get(f"{API}/reconciliations/{body['run_id']}/findings", headers=admin).get_json()
    assert report["total"] == sum(v for k, v in body["counts"].items() if k != "matched")
    assert {i["finding_type"] for i in report["items"]} >= {"off_hours", "registered_not_logged"}
    assert client.get(f"{API}/reconciliations/{body['run_id']}/findings",
                      headers=token_for("daan.admin")).status_code == 404
    bad = client.post(f"{API}/reconciliations", headers=admin, json={"agency": "DSW", "period": "June"})
    assert bad.status_code == 400
    assert client.post(f"{API}/reconciliations", headers=token_for("dsw.user"),
                       json={"period": "2024-06"}).status_code == 403


def test_openapi_lists_the_record_paths(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert {"/query-logs", "/register-files", "/register-entries", "/reconciliations",
            "/reconciliations/{run_id}/findings"} <= set(paths)


@pytest.fixture
def webir(webir):
    """`webir ...` against a fresh SQLite database in tmp_path with the DSW agency."""
    run = webir
    run("init-db")
    run("agency", "create", "DSW", "--name", "社會局", "--approved-on", "2024-01-01")
    return run


def test_cli_import_query_log_lists_rejected_lines_and_reconcile_json_has_every_key(webir, tmp_path):
    (tmp_path / "log.csv").write_text(LOG, encoding="utf-8")
    (tmp_path / "reg.csv").write_text(REGISTER, encoding="cp950")
    imported = webir("import-query-log", str(tmp_path / "log.csv"), "--agency", "DSW")
    assert imported.exit_code == 0 and "imported 2 log records" in imported.output
    assert "line 4:" in imported.output
    assert webir("import-register", str(tmp_path / "reg.csv"), "--agency", "dsw").exit_code == 0
    assert sum(1 for p in (tmp_path / "instance" / "evidence").rglob("*") if p.is_file()) == 2
    result = webir("reconcile", "--agency", "DSW", "--period", "2024-06", "--json")
    counts = json.loads(result.output)
    assert result.exit_code == 0 and list(counts) == FINDINGS
    assert counts["unauthorized_account"] == 2  # dsw.user is not a known account in this database
    text = webir("reconcile", "--agency", "DSW", "--period", "2024-06")
    assert "registered_not_logged" in text.output and "R3.3" in text.output


@pytest.mark.parametrize("args", [
    ("import-query-log", "{empty}", "--agency", "DSW"),
    ("import-query-log", "{log}", "--agency", "NOPE"),
    ("import-register", "{log}", "--agency", "DSW"),
    ("reconcile", "--agency", "DSW", "--period", "2024-13"),
    ("reconcile", "--agency", "NOPE", "--period", "2024-06"),
])
def test_cli_refusals_exit_1_with_a_one_line_reason(webir, tmp_path, args):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "log.csv").write_text(LOG, encoding="utf-8")
    paths = {"{empty}": str(tmp_path / "empty.csv"), "{log}": str(tmp_path / "log.csv")}
    result = webir(*[paths.get(a, a) for a in args])
    assert result.exit_code == 1 and "Error:" in result.output and "Traceback" not in result.output
