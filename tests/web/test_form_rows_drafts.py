"""Forms: arrays of objects as a table of rows (parsed, validated per cell, printed) and server-side drafts
(saved without completing, restored on reopen, per task and user, cleared at completion, audited)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FORM_1_2
from session_helpers import login, logout, post
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from engine import form_drafts as drafts
from engine import runtime
from engine.assignment import NotAllowed
from engine.bundle import ModelFile
from engine.models import AuditEvent, HumanTask, TaskDraft, TaskStatus
from web.forms import build_fields, parse_submission
from workflows import bundled

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
PREVIOUS = {  # an optional list of rows added to Form 1-2 for these tests
    "type": "array", "title": "曾用帳號 Previous accounts",
    "items": {"type": "object", "required": ["account"], "properties": {
        "account": {"type": "string", "title": "帳號 Account", "minLength": 3},
        "used_until": {"type": "string", "format": "date", "title": "使用至 Used until"},
        "queries": {"type": "integer", "title": "查詢次數 Queries", "minimum": 0},
        "kind": {"type": "string", "enum": ["own", "proxy"], "x-enumTitles": ["本人 Own", "代查 Proxy"],
                 "title": "類別 Kind"},
        "revoked": {"type": "boolean", "title": "已註銷 Revoked"}}}}


def _schema() -> dict:
    schema = json.loads((BPMN / "forms" / "form_1_2.schema.json").read_text(encoding="utf-8"))
    schema["properties"]["previous_accounts"] = PREVIOUS
    return schema


@pytest.fixture
def rows_form(org_db):
    """Form 1-2 with the list of previous accounts, deployed as a new version of user_account_application."""
    with org_db.transaction() as session:
        bundled.deploy_files(session, [
            ModelFile("user_account_application.bpmn", (BPMN / "user_account_application.bpmn").read_bytes()),
            ModelFile("forms/form_1_2.schema.json", json.dumps(_schema(), ensure_ascii=False).encode())],
            "test", "test")
    return org_db


def _first_task(db, users, username="dsw.staff") -> tuple[int, int]:
    iid = runtime.start_instance(db, "user_account_application", users[username])
    with db.sessions() as session:
        return iid, session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid))


def _form_1_2_posted(**extra) -> dict:
    data = {k: v for k, v in FORM_1_2.items() if k != "business_items"}
    return {**data, "business_items": FORM_1_2["business_items"][0], **extra}


def test_rows_are_parsed_typed_and_blank_rows_dropped():
    form = MultiDict([("previous_accounts[0][account]", "tsai.old"), ("previous_accounts[0][queries]", "12"),
                      ("previous_accounts[0][kind]", "proxy"), ("previous_accounts[0][revoked]", "true"),
                      ("previous_accounts[1][account]", ""), ("previous_accounts[1][queries]", " "),
                      ("previous_accounts[2][account]", "tsai.older"), ("previous_accounts[2][used_until]",
                                                                          "2025-12-31"),
                      ("previous_accounts[x][account]", "ignored"), ("other[0][account]", "ignored")])
    data = parse_submission(_schema(), form)
    assert data["previous_accounts"] == [
        {"account": "tsai.old", "queries": 12, "kind": "proxy", "revoked": True},
        {"account": "tsai.older", "used_until": "2025-12-31", "revoked": False}]
    assert "previous_accounts" not in parse_submission(_schema(), MultiDict([("previous_accounts[0][account]", "")]))


def test_rows_field_draws_filled_rows_then_blank_ones_with_cell_errors():
    value = [{"account": "ab", "queries": -1}, {"account": "tsai.old", "kind": "own"}]
    [field] = [f for f in build_fields(_schema(), {}, {"previous_accounts": value}, {"previous_accounts": "x"})
               if f.name == "previous_accounts"]
    assert field.widget == "rows" and [c.name for c in field.table.columns] == [
        "account", "used_until", "queries", "kind", "revoked"]
    assert len(field.table.rows) == 4  # two filled, two blank
    account, queries = field.table.columns[0], field.table.columns[2]
    assert "3" in field.table.error(0, account) and field.table.error(0, queries)
    assert field.table.error(1, account) is None and field.table.value(1, field.table.columns[3]) == "own"


def test_rows_are_validated_on_submit_with_errors_next_to_the_cells(client, rows_form, users):
    iid, task_id = _first_task(rows_form, users)
    login(client, "dsw.staff")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'name="previous_accounts[0][account]"' in page and 'name="previous_accounts[1][kind]"' in page
    bad = post(client, f"/tasks/{task_id}", _form_1_2_posted(**{
        "previous_accounts[0][account]": "ab", "previous_accounts[0][queries]": "many"}), f"/tasks/{task_id}")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'id="field-previous_accounts-0-account-error"' in text and 'value="many"' in text
    assert 'id="field-previous_accounts-0-queries-error"' in text
    good = post(client, f"/tasks/{task_id}", _form_1_2_posted(**{
        "previous_accounts[0][account]": "tsai.old", "previous_accounts[0][queries]": "3",
        "previous_accounts[0][kind]": "own"}), f"/tasks/{task_id}")
    assert good.status_code == 303
    with rows_form.sessions() as session:
        task = session.get(HumanTask, task_id)
        assert task.status == TaskStatus.COMPLETED
    printed = client.get(f"/tasks/{task_id}/print").get_data(as_text=True)
    assert '<table class="print-rows">' in printed and "tsai.old" in printed


def _audit(db, action) -> list[AuditEvent]:
    with db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_draft_is_saved_restored_per_user_and_cleared_at_completion(client, rows_form, users):
    iid, task_id = _first_task(rows_form, users)
    login(client, "dsw.staff")
    saved = post(client, f"/tasks/{task_id}/draft", {"unit": "社會救助科", "purpose": "",
                                                     "previous_accounts[0][account]": "tsai.old"},
                 f"/tasks/{task_id}")
    assert saved.status_code == 303 and saved.headers["Location"] == f"/tasks/{task_id}"
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "已儲存草稿" in page and "is restored (not submitted yet)" in page
    assert 'value="社會救助科"' in page and 'value="tsai.old"' in page
    assert 'name="previous_accounts[2][account]"' in page  # saving a draft gives more blank rows
    with rows_form.sessions() as session:
        assert session.get(HumanTask, task_id).status == TaskStatus.READY  # not completed
    event = _audit(rows_form, "task_draft_saved")[0]
    assert event.actor == "dsw.staff" and event.task_id == task_id and "tsai.old" not in json.dumps(event.detail)
    logout(client)
    login(client, "dsw.admin")  # sees the instance, may not complete the applicant's step: no form, no draft
    other = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "tsai.old" not in other and "is restored" not in other
    assert post(client, f"/tasks/{task_id}/draft", {"unit": "x"}, f"/tasks/{task_id}").status_code == 403
    logout(client)
    login(client, "dsw.staff")
    done = post(client, f"/tasks/{task_id}", _form_1_2_posted(), f"/tasks/{task_id}")
    assert done.status_code == 303
    with rows_form.sessions() as session:
        assert session.scalars(select(TaskDraft)).all() == []


def test_draft_can_be_discarded_and_needs_csrf(client, org_db, users):
    iid, task_id = _first_task(org_db, users)
    login(client, "dsw.staff")
    assert client.post(f"/tasks/{task_id}/draft", data={"unit": "x"}).status_code == 400  # no CSRF token
    post(client, f"/tasks/{task_id}/draft", {"unit": "草稿單位"}, f"/tasks/{task_id}")
    assert 'value="草稿單位"' in client.get(f"/tasks/{task_id}").get_data(as_text=True)
    post(client, f"/tasks/{task_id}/draft/discard", {}, f"/tasks/{task_id}")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'value="草稿單位"' not in page and "is restored" not in page
    assert [e.task_id for e in _audit(org_db, "task_draft_discarded")] == [task_id]
    logout(client)
    login(client, "daan.admin")  # another agency: not even visible
    assert post(client, f"/tasks/{task_id}/draft", {"unit": "x"}, "/").status_code == 404


def test_draft_of_a_task_no_longer_ready_is_refused(org_db, users):
    iid, task_id = _first_task(org_db, users)
    runtime.complete_task(org_db, task_id, users["dsw.staff"], FORM_1_2)
    with pytest.raises(runtime.TaskNotReady):
        drafts.save_draft(org_db, task_id, users["dsw.staff"], {"unit": "x"})
    with pytest.raises(runtime.FormInvalid):
        drafts.save_draft(org_db, task_id, users["dsw.staff"], {"typename": "x"})
    with pytest.raises(NotAllowed):
        _, other = _first_task(org_db, users)
        drafts.save_draft(org_db, other, users["dsw.admin"], {"unit": "x"})
    big = {"purpose": "x" * (drafts.MAX_DRAFT_BYTES + 1)}
    with pytest.raises(runtime.FormInvalid, match="KiB"):
        drafts.save_draft(org_db, _first_task(org_db, users)[1], users["dsw.staff"], big)
