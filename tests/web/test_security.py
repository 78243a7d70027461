"""Security around every page: headers, CSRF, login throttling, upload limits, hostile model files."""

from __future__ import annotations

import io
import time

from session_helpers import login, token_of
from sqlalchemy import text


def test_every_page_carries_security_headers(client, users):
    for path in ("/login", "/api/v1/openapi.json"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"


def test_form_post_without_csrf_token_is_refused(client, users):
    answer = client.post("/login", data={"username": "dsw.staff", "password": "demo-pass-2026"})
    assert answer.status_code == 400


def test_login_is_throttled_after_five_failures_even_with_the_right_password(client, users):
    for _ in range(5):
        assert login(client, "dsw.admin", "wrong-password").status_code == 401
    blocked = login(client, "dsw.admin")
    assert blocked.status_code == 429 and "15" in blocked.get_data(as_text=True)
    assert login(client, "dsw.staff").status_code == 302  # other accounts are not affected


def test_a_successful_login_resets_the_failure_count(client, users):
    for _ in range(4):
        login(client, "dsw.user", "wrong-password")
    assert login(client, "dsw.user").status_code == 302
    token = token_of(client.get("/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    for _ in range(4):
        login(client, "dsw.user", "wrong-password")
    assert login(client, "dsw.user").status_code == 302


def _deploy(client, headers, name: str, content: bytes):
    return client.post("/api/v1/process-models", data={"files": [(io.BytesIO(content), name)]},
                       headers=headers, content_type="multipart/form-data")


def test_xml_entities_are_never_expanded_in_deployed_models(client, token_for):
    xxe = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>')
    answer = _deploy(client, token_for("dol.analyst"), "xxe.bpmn", xxe)
    assert answer.status_code == 422 and "root:" not in answer.get_data(as_text=True)


def test_billion_laughs_is_refused_without_expanding(client, token_for):
    lol = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' + b"".join(
        f'<!ENTITY {c} "{("&" + p + ";") * 10}">'.encode() for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ) + b']><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&i;</bpmn:definitions>'
    answer = _deploy(client, token_for("dol.analyst"), "lol.bpmn", lol)
    assert answer.status_code == 422


def test_oversized_upload_is_413(client, token_for, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    answer = _deploy(client, token_for("dol.analyst"), "big.bpmn", b"x" * 4096)
    assert answer.status_code == 413 and answer.get_json()["error"]["code"] == "too_large"


def test_a_database_locked_by_another_writer_answers_503_and_changes_nothing(tmp_path, org_db, token_for, users,
                                                                              monkeypatch):
    if not org_db.is_sqlite:
        return  # PostgreSQL waits on row locks instead; covered by the concurrency tests
    import sqlite3

    from engine.db import Database
    from web import create_app

    impatient = Database(org_db.url, busy_timeout=0.5)
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path / "instance"))
    client = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE": impatient}).test_client()
    headers = token_for("dsw.staff")
    blocker = sqlite3.connect(org_db.url.removeprefix("sqlite:///"))
    blocker.execute("BEGIN IMMEDIATE")
    try:
        answer = client.post("/api/v1/process-instances", json={"process_id": "user_account_application"},
                             headers=headers)
    finally:
        blocker.rollback()
        blocker.close()
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "database_busy"
    assert answer.headers["Retry-After"] == "2"
    listing = client.get("/api/v1/process-instances", headers=headers).get_json()
    assert listing["total"] == 0


def test_nul_characters_are_bad_input_not_a_server_error(client, token_for):
    headers = token_for("dsw.staff")
    body = client.post("/api/v1/process-instances", data='{"process_id": "a\\u0000b"}', headers=headers,
                       content_type="application/json")
    assert body.status_code == 400 and "NUL" in body.get_json()["error"]["message"]
    assert client.get("/api/v1/process-instances?process_id=a%00b", headers=headers).status_code == 400


def test_a_lost_database_connection_answers_503_and_the_next_request_works(org_db, token_for, tmp_path, monkeypatch):
    """A pooled PostgreSQL connection the server ended (restart, idle kill) and reused at once fails that request
    with a retryable 503, never a 500; the pool has dropped it, so the retry works."""
    if org_db.is_sqlite:
        return  # SQLite has no server to lose
    from engine.db import Database
    from web import create_app

    name = "webir-lost-connection-test"
    database = Database(org_db.url, ping_after_idle=3600, connect_args={"application_name": name})
    monkeypatch.setenv("WEBIR_INSTANCE_PATH", str(tmp_path / "instance"))
    client = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE": database}).test_client()
    headers = token_for("dsw.staff")
    try:
        assert client.get("/api/v1/process-instances", headers=headers).status_code == 200
        with org_db.engine.begin() as conn:
            ended = conn.scalar(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                     "WHERE application_name = :name"), {"name": name})
        assert ended >= 1
        time.sleep(0.2)  # until the server has let them go
        lost = client.get("/api/v1/process-instances", headers=headers)
        assert lost.status_code == 503, lost.get_data(as_text=True)
        assert lost.get_json()["error"]["code"] == "database_unavailable" and lost.headers["Retry-After"] == "1"
        assert client.get("/api/v1/process-instances", headers=headers).status_code == 200
    finally:
        database.dispose()
