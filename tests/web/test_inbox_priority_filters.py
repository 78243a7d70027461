"""Task priority (derived from due date and escalation, or set by a manager), saved inbox filters (per user,
named, audited) and the instance list's "started between" filter."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from session_helpers import login, logout, post
from sqlalchemy import select
from test_inbox_pages import apply, ready_task, task_links

from engine import admin_ops, task_priority, timekeeping
from engine.assignment import NotAllowed
from engine.models import AuditEvent, HumanTask, ProcessInstance, SavedFilter, TaskStatus, User
from engine.runtime import TaskNotReady
from web.inbox_queries import InboxQuery, inbox_page

TAIPEI = dt.timezone(dt.timedelta(hours=8))


def _audit(db, action) -> list[AuditEvent]:
    with db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _priority_cell(page: str, task_id: int) -> str:
    row = re.search(rf'<tr[^>]*>\s*<td><a href="/tasks/{task_id}">.*?</tr>', page, re.S).group(0)
    return re.search(r'class="priority priority-(\w+)"', row).group(1)


def _two_tasks(org_db, users, sim_clock) -> tuple[int, int]:
    """An overdue confirmation (applied 2 March) and a fresh one (applied 20 March), both for dsw.unit."""
    sim_clock.set(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))
    late = ready_task(org_db, apply(org_db, users)).id
    sim_clock.set(dt.datetime(2026, 3, 20, 1, 0, tzinfo=dt.UTC))
    fresh = ready_task(org_db, apply(org_db, users)).id
    return late, fresh


def test_priority_is_derived_from_due_date_and_shown_sorted_and_filtered(client, org_db, users, sim_clock):
    late, fresh = _two_tasks(org_db, users, sim_clock)
    login(client, "dsw.unit")
    page = client.get("/").get_data(as_text=True)
    assert _priority_cell(page, late) == "urgent"
    with org_db.sessions() as session:
        fresh_due = session.get(HumanTask, fresh).due_at
    assert _priority_cell(page, fresh) == ("high" if fresh_due < sim_clock.now() + dt.timedelta(days=3)
                                           else "normal")
    assert task_links(client.get("/?priority=urgent").get_data(as_text=True)) == [late]
    assert task_links(client.get("/?priority=low").get_data(as_text=True)) == []
    assert task_links(client.get("/?sort=priority&order=desc").get_data(as_text=True)) == [fresh, late]
    assert task_links(client.get("/?priority=bogus").get_data(as_text=True)) == [late, fresh]


def test_manager_sets_priority_which_overrides_the_derived_one_and_is_audited(client, org_db, users, sim_clock):
    late, fresh = _two_tasks(org_db, users, sim_clock)
    with org_db.sessions() as session:
        iid = session.get(HumanTask, late).instance_id
    login(client, "dsw.unit")
    assert post(client, f"/instances/{iid}/tasks/{late}/priority", {"priority": "low"}).status_code == 403
    logout(client)
    login(client, "dsw.admin")
    response = post(client, f"/instances/{iid}/tasks/{late}/priority", {"priority": "low"})
    assert response.status_code == 303
    assert "已設定優先順序 Priority set" in client.get(f"/instances/{iid}").get_data(as_text=True)
    event = _audit(org_db, "task_priority_set")[-1]
    assert (event.actor, event.task_id, event.detail["from_priority"], event.detail["to_priority"]) == (
        "dsw.admin", late, None, "low")
    logout(client)
    login(client, "dsw.unit")
    assert _priority_cell(client.get("/").get_data(as_text=True), late) == "low"
    assert task_links(client.get("/?priority=low").get_data(as_text=True)) == [late]
    assert task_links(client.get("/?sort=priority").get_data(as_text=True)) == [fresh, late]
    logout(client)
    login(client, "dsw.admin")
    post(client, f"/instances/{iid}/tasks/{late}/priority", {"priority": ""})  # back to automatic
    assert _audit(org_db, "task_priority_set")[-1].detail["to_priority"] is None
    page = post(client, f"/instances/{iid}/tasks/{late}/priority", {"priority": "sky-high"})
    assert "priority must be one of" in client.get(page.headers["Location"]).get_data(as_text=True)
    with org_db.sessions() as session:
        assert session.get(HumanTask, late).priority is None


def test_priority_of_a_task_of_another_instance_is_404(client, org_db, users, sim_clock):
    late, fresh = _two_tasks(org_db, users, sim_clock)
    with org_db.sessions() as session:
        other_iid = session.get(HumanTask, fresh).instance_id
    login(client, "dsw.admin")
    assert post(client, f"/instances/{other_iid}/tasks/{late}/priority", {"priority": "high"}).status_code == 404
    with org_db.sessions() as session:
        assert session.get(HumanTask, late).priority is None


def test_completed_task_priority_cannot_be_set(org_db, users):
    iid = apply(org_db, users)
    with org_db.sessions() as session:
        done = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                         HumanTask.status == TaskStatus.COMPLETED))
    with pytest.raises(TaskNotReady):
        admin_ops.set_task_priority(org_db, done, users["dsw.admin"], "high")
    with pytest.raises(NotAllowed):
        admin_ops.set_task_priority(org_db, ready_task(org_db, iid).id, users["dsw.staff"], "high")


def test_escalation_tasks_are_urgent_and_sql_rank_equals_python_rank(org_db, users, sim_clock):
    sim_clock.set(dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    timekeeping.advance_to(org_db, dt.datetime(2026, 3, 5, tzinfo=TAIPEI))  # January's check is late: escalated
    late, fresh = _two_tasks(org_db, users, sim_clock)
    with org_db.sessions() as session:
        now, escalations = sim_clock.now(), task_priority.escalation_processes(session)
        assert escalations == ("obligation_escalation",)
        session.get(HumanTask, fresh).priority = task_priority.LOW  # not committed: only this session sees it
        rank = task_priority.rank_expression(now, escalations)
        rows = session.execute(select(HumanTask, rank).where(HumanTask.status == TaskStatus.READY)).all()
        assert {task_priority.rank_of(t, now, escalations) for t, _ in rows} >= {task_priority.URGENT,
                                                                                 task_priority.LOW}
        for task, sql_rank in rows:
            assert sql_rank == task_priority.rank_of(task, now, escalations), task.name
        escalation = [t for t, _ in rows if t.process_id == "obligation_escalation"]
        assert escalation and all(task_priority.rank_of(t, now, escalations) == task_priority.URGENT
                                  for t in escalation)


def test_saved_filters_are_per_user_named_replaced_by_name_and_audited(client, org_db, users, sim_clock):
    late, fresh = _two_tasks(org_db, users, sim_clock)
    login(client, "dsw.unit")
    response = post(client, "/inbox/filters", {"name": "  逾期  urgent ", "tab": "todo", "overdue": "1",
                                               "priority": "urgent", "sort": "due", "bogus": "x"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已保存篩選條件 Filter saved" in page and task_links(page) == [late]
    link = re.search(r'<li class="saved-filter"><a href="([^"]+)">逾期 urgent</a>', page)
    assert link, page
    assert task_links(client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)) == [late]
    post(client, "/inbox/filters", {"name": "逾期 urgent", "tab": "all"})  # same name: replaced, not doubled
    with org_db.sessions() as session:
        rows = list(session.scalars(select(SavedFilter)))
    assert [(r.name, r.query) for r in rows] == [("逾期 urgent", {"tab": "all"})]
    saved = _audit(org_db, "inbox_filter_saved")
    assert [e.actor for e in saved] == ["dsw.unit", "dsw.unit"] and saved[0].detail["query"]["priority"] == "urgent"
    assert "bogus" not in saved[0].detail["query"]
    empty = post(client, "/inbox/filters", {"name": "   ", "tab": "todo"})
    assert "請為篩選條件命名" in client.get(empty.headers["Location"]).get_data(as_text=True)
    logout(client)
    login(client, "dsw.admin")  # another user sees none of them and cannot delete them
    assert "逾期 urgent" not in client.get("/").get_data(as_text=True)
    assert post(client, f"/inbox/filters/{rows[0].id}/delete", {}).status_code == 404
    assert client.post("/inbox/filters", data={"name": "x"}).status_code == 400  # no CSRF token
    logout(client)
    login(client, "dsw.unit")
    assert post(client, f"/inbox/filters/{rows[0].id}/delete", {}).status_code == 303
    assert "逾期 urgent" not in client.get("/").get_data(as_text=True)
    assert _audit(org_db, "inbox_filter_deleted")[0].detail["name"] == "逾期 urgent"


def _instance_ids(page: str) -> list[int]:
    body = page.split('<table class="instances">', 1)[1].split("</table>", 1)[0]
    return [int(i) for i in re.findall(r'<td class="num"><a href="/instances/(\d+)">', body)]


def test_instances_started_between_dates_in_taipei(client, org_db, users, sim_clock):
    sim_clock.set(dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC))  # 2 March 00:30 in Taipei
    march_2 = apply(org_db, users)
    sim_clock.set(dt.datetime(2026, 3, 10, 1, 0, tzinfo=dt.UTC))
    march_10 = apply(org_db, users)
    login(client, "dsw.admin")
    only = client.get("/instances?started_from=2026-03-02&started_to=2026-03-02").get_data(as_text=True)
    assert _instance_ids(only) == [march_2]
    assert _instance_ids(client.get("/instances?started_from=2026-03-03").get_data(as_text=True)) == [march_10]
    assert march_2 not in _instance_ids(client.get("/instances?started_to=2026-03-01").get_data(as_text=True))
    both = _instance_ids(client.get("/instances?started_from=2026-03-01&started_to=2026-03-31")
                         .get_data(as_text=True))
    assert set(both) == {march_2, march_10}
    reversed_range = client.get("/instances?started_from=2026-03-31&started_to=2026-03-01").get_data(as_text=True)
    assert "The &#39;from&#39; date is after the &#39;to&#39; date" in reversed_range
    assert 'aria-invalid="true"' in reversed_range
    assert {march_2, march_10} <= set(_instance_ids(reversed_range))  # not applied
    bad = client.get("/instances?started_from=yesterday")
    assert bad.status_code == 200 and "Dates are YYYY-MM-DD: yesterday" in bad.get_data(as_text=True)
    with org_db.sessions() as session:
        assert session.get(ProcessInstance, march_2).started_at.astimezone(TAIPEI).date() == dt.date(2026, 3, 2)



def test_instances_page_filters_instances_with_an_overdue_task(client, org_db, users, sim_clock):
    sim_clock.set(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))
    late, on_time = apply(org_db, users), apply(org_db, users)
    with org_db.transaction() as session:
        for iid, due in ((late, dt.datetime(2026, 3, 1, tzinfo=dt.UTC)),
                         (on_time, dt.datetime(2026, 4, 1, tzinfo=dt.UTC))):
            for task in session.scalars(select(HumanTask).where(HumanTask.instance_id == iid,
                                                                HumanTask.status == TaskStatus.READY)):
                task.due_at = due
    login(client, "dsw.admin")
    page = client.get("/instances?overdue=1").get_data(as_text=True)
    assert late in _instance_ids(page) and on_time not in _instance_ids(page)
    assert 'id="filter-overdue" name="overdue" value="1" checked' in page
    assert {late, on_time} <= set(_instance_ids(client.get("/instances").get_data(as_text=True)))

def test_inbox_page_rows_carry_the_same_priority_as_the_filter(org_db, users, sim_clock):
    late, fresh = _two_tasks(org_db, users, sim_clock)
    with org_db.sessions() as session:
        unit = session.get(User, users["dsw.unit"])
        rows = inbox_page(session, unit, InboxQuery())
        by_rank = {r.task.id: r.priority for r in rows}
        for name, rank in task_priority.PRIORITIES.items():
            ids = {r.task.id for r in inbox_page(session, unit, InboxQuery(priority=name))}
            assert ids == {tid for tid, r in by_rank.items() if r == rank}


def test_api_lists_instances_started_between_and_refuses_a_bad_date(client, org_db, users, sim_clock, token_for):
    sim_clock.set(dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC))  # 2 March in Taipei
    march_2 = apply(org_db, users)
    sim_clock.set(dt.datetime(2026, 3, 10, 1, 0, tzinfo=dt.UTC))
    march_10 = apply(org_db, users)
    headers = token_for("dsw.admin")
    answer = client.get("/api/v1/process-instances?started_from=2026-03-02&started_to=2026-03-02", headers=headers)
    assert [i["id"] for i in answer.get_json()["items"]] == [march_2] and answer.get_json()["total"] == 1
    later = client.get("/api/v1/process-instances?started_from=2026-03-03", headers=headers).get_json()
    assert [i["id"] for i in later["items"]] == [march_10]
    bad = client.get("/api/v1/process-instances?started_to=March", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["fields"] == {
        "started_to": "a date YYYY-MM-DD"}
    spec = client.get("/api/v1/openapi.json").get_json()
    names = [p["name"] for p in spec["paths"]["/process-instances"]["get"]["parameters"]]
    assert {"started_from", "started_to"} <= set(names)
