"""File fields in task forms (R8.1.1): the inbox page and the REST API take the file, keep it as evidence and
the task data keeps its id and SHA-256; missing, wrong or too large files get clear 413 / 422 answers."""

from __future__ import annotations

import hashlib
import io
import json

from session_helpers import login, token_of
from sqlalchemy import func, select

from engine import runtime
from engine.models import EvidenceFile, HumanTask, TaskStatus

LOG = "查詢時間,查詢者帳號,被查詢人身分證號,查詢項目,案件編號\n2026-10-05 10:00:00,dsw.user,A1,投保,C1\n"
QUARTER = {"obligation": "quarterly_log_download", "period": "2026-Q4", "opens_at": "2027-01-01T00:00:00+08:00",
           "due_at": "2027-01-31T23:59:59+08:00", "clauses": ["R8.1.1"]}


def _download_task(db, users) -> tuple[int, int]:
    iid = runtime.start_instance(db, "quarterly_log_review", users["dol.admin"], agency_code="DSW", data=QUARTER)
    with db.sessions() as session:
        task_id = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                            HumanTask.status == TaskStatus.READY))
    return iid, task_id


def _ready_names(db, iid) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(select(HumanTask.name).where(HumanTask.instance_id == iid,
                                                                 HumanTask.status == TaskStatus.READY)))


def _evidence(db) -> list[EvidenceFile]:
    with db.sessions() as session:
        return list(session.scalars(select(EvidenceFile)))


def test_task_page_renders_a_file_input_in_a_multipart_form(client, org_db, users):
    _, task_id = _download_task(org_db, users)
    login(client, "dsw.admin")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file" id="field-query_log_file" name="query_log_file" accept=".csv,.xlsx" required' in page


def test_task_page_upload_is_kept_as_evidence_and_the_process_goes_on(client, org_db, users):
    iid, task_id = _download_task(org_db, users)
    login(client, "dsw.admin")
    token = token_of(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    answer = client.post(f"/tasks/{task_id}", content_type="multipart/form-data", data={
        "csrf_token": token, "downloaded_on": "2027-01-03",
        "query_log_file": (io.BytesIO(LOG.encode()), "webir-2026Q4.csv")})
    assert answer.status_code == 303
    [kept] = _evidence(org_db)
    assert (kept.sha256, kept.filename) == (hashlib.sha256(LOG.encode()).hexdigest(), "webir-2026Q4.csv")
    assert _ready_names(org_db, iid) == ["review_anomalies"]  # dsw.user queried before holding the role


def test_task_page_without_the_file_answers_422_next_to_the_field(client, org_db, users):
    _, task_id = _download_task(org_db, users)
    login(client, "dsw.admin")
    token = token_of(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    answer = client.post(f"/tasks/{task_id}", content_type="multipart/form-data",
                         data={"csrf_token": token, "downloaded_on": "2027-01-03"})
    assert answer.status_code == 422
    assert "field-query_log_file-error" in answer.get_data(as_text=True)
    assert _evidence(org_db) == []


def test_api_multipart_completion_takes_the_file_and_keeps_id_and_sha256(client, org_db, users, token_for):
    iid, task_id = _download_task(org_db, users)
    answer = client.post(f"/api/v1/tasks/{task_id}/complete", headers=token_for("dsw.admin"),
                         content_type="multipart/form-data",
                         data={"data": json.dumps({"downloaded_on": "2027-01-03"}),
                               "query_log_file": (io.BytesIO(LOG.encode()), "log.csv")})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["instance"]["ready_tasks"][0]["name"] == "review_anomalies"
    details = client.get(f"/api/v1/tasks/{answer.get_json()['instance']['ready_tasks'][0]['id']}",
                         headers=token_for("dsw.audit")).get_json()
    assert details["data"]["query_log_file"]["sha256"] == hashlib.sha256(LOG.encode()).hexdigest()
    assert details["data"]["query_log_file"]["evidence_file_id"] == _evidence(org_db)[0].id


def test_api_upload_errors_are_specific(client, org_db, users, token_for):
    _, task_id = _download_task(org_db, users)
    headers, url = token_for("dsw.admin"), f"/api/v1/tasks/{task_id}/complete"
    missing = client.post(url, headers=headers, json={"data": {"downloaded_on": "2027-01-03"}})
    assert missing.status_code == 422 and "query_log_file" in missing.get_json()["error"]["details"]["fields"]
    bad_json = client.post(url, headers=headers, content_type="multipart/form-data", data={"data": "{not json"})
    assert bad_json.status_code == 400
    stray = client.post(url, headers=headers, content_type="multipart/form-data", data={
        "data": json.dumps({"downloaded_on": "2027-01-03"}), "query_log_file": (io.BytesIO(LOG.encode()), "l.csv"),
        "note": (io.BytesIO(b"x"), "x.txt")})
    assert stray.status_code == 422 and "note" in stray.get_json()["error"]["details"]["fields"]
    huge = client.post(url, headers=headers, content_type="multipart/form-data", data={
        "data": "{}", "query_log_file": (io.BytesIO(b"x" * (20 * 1024 * 1024 + 10)), "big.csv")})
    assert huge.status_code == 413 and huge.get_json()["error"]["code"] == "too_large"
    with org_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(EvidenceFile)) == 0
    other = client.post(url, headers=token_for("daan.admin"), content_type="multipart/form-data", data={
        "data": json.dumps({"downloaded_on": "2027-01-03"}), "query_log_file": (io.BytesIO(LOG.encode()), "l.csv")})
    assert other.status_code == 404
