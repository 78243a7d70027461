"""Long work as background jobs over the API and in the pages: `Prefer: respond-async` answers 202 with the job at
once, GET /api/v1/jobs/{id} shows its progress and result, /jobs/{id} shows it to people; other agencies' jobs are
404; a finished job cannot be retried, a failed one can."""

from __future__ import annotations

import io
import time

from session_helpers import login, token_of

API = "/api/v1"
LOG = ("查詢時間,查詢者帳號,被查詢人身分證號,查詢項目,案件編號\n"
       "113/06/05 10:00:00,dsw.user,A1,投保資料,C1\n"
       "113/06/05 21:00:00,dsw.user,A2,投保資料,C2\n")
ASYNC = {"Prefer": "respond-async"}


def _upload(client, headers, content: bytes, name="log.csv"):
    return client.post(f"{API}/query-logs", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content), name), "agency": "DSW"})


def _finished(client, headers, job_id: int) -> dict:
    for _ in range(400):
        body = client.get(f"{API}/jobs/{job_id}", headers=headers).get_json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_an_upload_asked_to_respond_async_answers_202_and_the_job_gives_the_result(client, token_for, org_db):
    headers = {**token_for("dsw.admin"), **ASYNC}
    answer = _upload(client, headers, LOG.encode("utf-8-sig"))
    assert answer.status_code == 202, answer.get_json()
    job = answer.get_json()["job"]
    assert answer.headers["Location"] == f"/api/v1/jobs/{job['id']}" and job["kind"] == "import_query_log"
    assert job["status"] in ("queued", "running", "succeeded") and job["created_by"] == "dsw.admin"
    done = _finished(client, headers, job["id"])
    assert done["status"] == "succeeded" and done["result"]["imported"] == 2 and done["progress"]["fraction"] == 1.0
    assert done["error"] is None and "params" not in done  # server file paths are not shown
    listed = client.get(f"{API}/jobs", headers=headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == job["id"]


def test_a_reconciliation_job_and_a_refused_file_job_over_the_api(client, token_for, org_db):
    headers = {**token_for("dsw.admin"), **ASYNC}
    run = client.post(f"{API}/reconciliations", headers=headers, json={"period": "2024-06"})
    assert run.status_code == 202
    result = _finished(client, headers, run.get_json()["job"]["id"])["result"]
    assert result["agency"] == "DSW" and result["period"] == "2024-06" and set(result["counts"].values()) == {0}
    refused = _finished(client, headers, _upload(client, headers, b"who,what\nx,y\n").get_json()["job"]["id"])
    assert refused["status"] == "failed" and refused["error"]["code"] == "file_refused" and refused["result"] is None
    # the synchronous form still answers the refusal as it always did
    plain = _upload(client, token_for("dsw.admin"), b"who,what\nx,y\n")
    assert plain.status_code == 422 and plain.get_json()["error"]["code"] == "file_refused"
    bad = client.post(f"{API}/reconciliations", headers=headers, json={"period": "2024-13"})
    assert bad.status_code == 400  # refused before anything is queued


def test_jobs_of_other_agencies_are_not_found_and_only_failed_jobs_are_retried(client, token_for, org_db):
    mine = {**token_for("dsw.admin"), **ASYNC}
    job_id = _upload(client, mine, LOG.encode("utf-8-sig")).get_json()["job"]["id"]
    _finished(client, mine, job_id)
    other = token_for("daan.admin")
    assert client.get(f"{API}/jobs/{job_id}", headers=other).status_code == 404
    assert client.post(f"{API}/jobs/{job_id}/retry", headers=other).status_code == 404
    assert client.get(f"{API}/jobs", headers=other).get_json()["total"] == 0
    assert client.get(f"{API}/jobs/{job_id}", headers=token_for("dsw.unit")).status_code == 200  # a record keeper
    assert client.post(f"{API}/jobs/{job_id}/retry", headers=mine).status_code == 409
    failed = _upload(client, mine, b"who,what\nx,y\n").get_json()["job"]["id"]
    _finished(client, mine, failed)
    again = client.post(f"{API}/jobs/{failed}/retry", headers=mine)
    assert again.status_code == 202 and again.get_json()["status"] in ("queued", "running", "failed")
    assert _finished(client, mine, failed)["attempts"] == 2


def test_the_job_page_shows_progress_and_outcome_to_people(client, token_for, org_db):
    job_id = _upload(client, {**token_for("dsw.admin"), **ASYNC}, LOG.encode("utf-8-sig")).get_json()["job"]["id"]
    _finished(client, token_for("dsw.admin"), job_id)
    login(client, "dsw.admin")
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'data-job-status="succeeded"' in page and "匯入查詢紀錄" in page and "Query-log import" in page
    assert 'http-equiv="refresh"' not in page  # finished: no more refreshing
    assert "imported" in page and token_of(page)
    listing = client.get("/jobs").get_data(as_text=True)
    assert f'href="/jobs/{job_id}"' in listing
    login(client, "daan.admin")
    assert client.get(f"/jobs/{job_id}").status_code == 404
