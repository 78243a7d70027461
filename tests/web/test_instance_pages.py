"""The instance page: diagram markers (completed, active, late), the history timeline, current tasks, and the
managers' actions (suspend, resume, cancel with reason, reassign): audited, CSRF-protected, 403 for others."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest
from process_walk import CONFIRM_NEED, step
from session_helpers import login, logout, post
from test_inbox_pages import apply, ready_task

from engine.models import InstanceStatus, ProcessInstance


def markers(page: str) -> dict[str, list[str]]:
    found = {}
    for kind in ("ready", "late", "completed", "suspended"):
        raw = re.search(rf'data-{kind}-tasks="([^"]*)"', page).group(1)
        found[kind] = json.loads(html.unescape(raw))
    return found


def status_of(db, iid) -> InstanceStatus:
    with db.sessions() as session:
        return session.get(ProcessInstance, iid).status


def test_diagram_marks_completed_active_and_late_tasks(client, org_db, users, sim_clock):
    sim_clock.set(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))
    iid = apply(org_db, users)
    login(client, "dsw.unit")
    page = client.get(f"/instances/{iid}").get_data(as_text=True)
    assert markers(page) == {"ready": ["confirm_business_need"], "late": [], "completed": ["fill_form_1_2"],
                             "suspended": []}
    assert 'class="legend"' in page and "swatch-late" in page
    sim_clock.set(dt.datetime(2026, 4, 30, 1, 0, tzinfo=dt.UTC))
    page = client.get(f"/instances/{iid}").get_data(as_text=True)
    assert markers(page)["late"] == ["confirm_business_need"] and markers(page)["ready"] == []
    assert "逾期 Late</span>" in page


def test_history_timeline_says_who_did_what_when(client, org_db, users):
    iid = apply(org_db, users)
    login(client, "dsw.staff")
    page = client.get(f"/instances/{iid}").get_data(as_text=True)
    timeline = page.split('<ol class="timeline history">', 1)[1].split("</ol>", 1)[0]
    assert timeline.index("啟動流程 Process started") < timeline.index("完成任務 Task completed")
    assert "填寫申請表 1-2 Fill in Form 1-2" in timeline and "dsw.staff" in timeline and "<time datetime=" in timeline


def test_only_managers_see_and_may_use_the_actions(client, org_db, users):
    iid = apply(org_db, users)
    login(client, "dsw.unit")
    assert 'id="manage"' not in client.get(f"/instances/{iid}").get_data(as_text=True)
    response = post(client, f"/instances/{iid}/suspend", {"reason": "x"})
    assert response.status_code == 403 and "Traceback" not in response.get_data(as_text=True)
    assert status_of(org_db, iid) == InstanceStatus.RUNNING
    logout(client)
    login(client, "daan.admin")  # another agency: does not even see it
    assert post(client, f"/instances/{iid}/suspend", {}).status_code == 404
    logout(client)
    login(client, "dsw.admin")
    assert 'id="manage"' in client.get(f"/instances/{iid}").get_data(as_text=True)
    assert client.post(f"/instances/{iid}/suspend", data={}).status_code == 400  # no CSRF token
    assert status_of(org_db, iid) == InstanceStatus.RUNNING


def test_suspend_resume_and_cancel_with_reason(client, org_db, users):
    iid = apply(org_db, users)
    task_id = ready_task(org_db, iid).id
    login(client, "dsw.admin")
    response = post(client, f"/instances/{iid}/suspend", {"reason": "等候補件"})
    assert response.status_code == 303 and status_of(org_db, iid) == InstanceStatus.SUSPENDED
    page = client.get(f"/instances/{iid}").get_data(as_text=True)
    assert "已暫停案件 Instance suspended" in page and "等候補件" in page
    assert markers(page)["suspended"] == ["confirm_business_need"] and "恢復案件" in page
    assert post(client, f"/instances/{iid}/suspend", {}).status_code == 409
    logout(client)
    login(client, "dsw.unit")
    assert "此案件已暫停" in client.get(f"/tasks/{task_id}").get_data(as_text=True)
    logout(client)

    login(client, "dol.admin")  # the master administrator may manage any agency's instance
    assert post(client, f"/instances/{iid}/resume", {}).status_code == 303
    assert status_of(org_db, iid) == InstanceStatus.RUNNING
    post(client, f"/instances/{iid}/cancel", {"reason": " "})
    assert status_of(org_db, iid) == InstanceStatus.RUNNING
    assert "請說明原因" in client.get(f"/instances/{iid}").get_data(as_text=True)
    post(client, f"/instances/{iid}/cancel", {"reason": "重複申請 Duplicate"})
    page = client.get(f"/instances/{iid}").get_data(as_text=True)
    assert status_of(org_db, iid) == InstanceStatus.CANCELLED
    assert "流程取消 Process cancelled" in page and "重複申請 Duplicate" in page and 'id="manage"' not in page


@pytest.mark.parametrize("target, ok", [("dsw.admin2", True), ("dsw.unit", False)])
def test_reassign_to_another_holder_of_the_role(client, org_db, users, target, ok):
    iid = apply(org_db, users)
    step(org_db, iid, "confirm_business_need", users["dsw.unit"], CONFIRM_NEED)
    review = ready_task(org_db, iid).id
    login(client, "dsw.admin")
    page = client.get(f"/instances/{iid}").get_data(as_text=True)
    assert f'action="/instances/{iid}/tasks/{review}/reassign"' in page and 'value="dsw.admin2"' in page
    response = post(client, f"/instances/{iid}/tasks/{review}/reassign", {"to": target})
    assert response.status_code == (303 if ok else 403)
    assert ready_task(org_db, iid).assignee_id == (users[target] if ok else None)
    if ok:
        assert "改派任務 Task reassigned" in client.get(f"/instances/{iid}").get_data(as_text=True)


def test_reassign_refuses_a_task_of_another_instance(client, org_db, users):
    first, second = apply(org_db, users), apply(org_db, users)
    login(client, "dsw.admin")
    other = ready_task(org_db, second).id
    assert post(client, f"/instances/{first}/tasks/{other}/reassign", {"to": "dsw.unit"}).status_code == 404
