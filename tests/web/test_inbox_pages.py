"""The inbox: tabs with counts, claim and unclaim from the list, filters and sorting, empty states; the task page's
instructions, instance context, comments and print view."""

from __future__ import annotations

import datetime as dt
import re

from conftest import FORM_1_2
from process_walk import CONFIRM_NEED, step
from session_helpers import login, logout, post, token_of
from sqlalchemy import select

from engine import runtime
from engine.models import AuditEvent, HumanTask, TaskStatus


def apply(db, users, username="dsw.staff") -> int:
    """An application waiting for the unit supervisor's confirmation (a unit_admin task of DSW)."""
    iid = runtime.start_instance(db, "user_account_application", users[username])
    with db.sessions() as session:
        task_id = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid))
    runtime.complete_task(db, task_id, users[username], FORM_1_2)
    return iid


def ready_task(db, iid) -> HumanTask:
    with db.sessions() as session:
        return session.scalar(select(HumanTask).where(HumanTask.instance_id == iid,
                                                      HumanTask.status == TaskStatus.READY))


def tab_count(page: str, tab: str) -> int:
    match = re.search(rf'data-tab="{tab}".*?<span class="count"[^>]*>([\d,]+)</span>', page, re.S)
    assert match, tab
    return int(match.group(1).replace(",", ""))


def task_links(page: str) -> list[int]:
    body = page.split('<table class="tasks"', 1)[1].split("</table>", 1)[0]
    return [int(i) for i in re.findall(r'<td><a href="/tasks/(\d+)">', body)]


def test_tabs_count_claimable_and_assigned_tasks(client, org_db, users):
    first, second = apply(org_db, users), apply(org_db, users)
    login(client, "dsw.unit")
    page = client.get("/").get_data(as_text=True)
    assert (tab_count(page, "todo"), tab_count(page, "assigned"), tab_count(page, "claimable")) == (2, 0, 2)
    assert sorted(task_links(page)) == sorted([ready_task(org_db, first).id, ready_task(org_db, second).id])
    assert page.count("認領 Claim</button>") == 2

    task_id = ready_task(org_db, first).id
    response = post(client, f"/tasks/{task_id}/claim", {"next": "/?tab=claimable"})
    assert response.status_code == 303 and response.headers["Location"] == "/?tab=claimable"
    page = client.get("/?tab=claimable").get_data(as_text=True)
    assert "已認領 Claimed" in page and task_links(page) == [ready_task(org_db, second).id]
    assert (tab_count(page, "assigned"), tab_count(page, "claimable"), tab_count(page, "todo")) == (1, 1, 2)
    assigned = client.get("/?tab=assigned").get_data(as_text=True)
    assert task_links(assigned) == [task_id] and "退回 Unclaim</button>" in assigned


def test_claim_form_never_redirects_off_site(client, org_db, users):
    task_id = ready_task(org_db, apply(org_db, users)).id
    login(client, "dsw.unit")
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = post(client, f"/tasks/{task_id}/claim", {"next": bad})
        assert response.headers["Location"] == f"/tasks/{task_id}"
        post(client, f"/tasks/{task_id}/unclaim", {"next": "/"})


def test_completed_tab_lists_what_i_did(client, org_db, users):
    iid = apply(org_db, users)
    step(org_db, iid, "confirm_business_need", users["dsw.unit"], CONFIRM_NEED)
    login(client, "dsw.unit")
    page = client.get("/?tab=completed").get_data(as_text=True)
    assert tab_count(page, "completed") == 1 and len(task_links(page)) == 1
    assert "確認業務需要 Confirm the business need" in page
    legacy = client.get("/?scope=mine&status=completed").get_data(as_text=True)
    assert task_links(legacy) == task_links(page)


def test_filters_by_process_due_date_and_overdue(client, org_db, users, sim_clock):
    sim_clock.set(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))
    late_one = apply(org_db, users)  # the confirmation step is due a few days after it became ready
    sim_clock.set(dt.datetime(2026, 3, 20, 1, 0, tzinfo=dt.UTC))
    fresh = apply(org_db, users)
    late_id, fresh_id = ready_task(org_db, late_one).id, ready_task(org_db, fresh).id
    login(client, "dsw.unit")
    page = client.get("/").get_data(as_text=True)
    assert task_links(page) == [late_id, fresh_id]  # due first
    assert "逾期 Late</span>" in page and 'class="is-late"' in page
    assert task_links(client.get("/?order=desc").get_data(as_text=True)) == [fresh_id, late_id]
    overdue = client.get("/?overdue=1").get_data(as_text=True)
    assert task_links(overdue) == [late_id] and tab_count(overdue, "todo") == 1
    due_by = ready_task(org_db, late_one).due_at.date().isoformat()
    assert task_links(client.get(f"/?due_by={due_by}").get_data(as_text=True)) == [late_id]
    none = client.get("/?process_id=quarterly_log_review").get_data(as_text=True)
    assert task_links(none) == [] and "沒有符合篩選條件的任務" in none and "清除篩選" in none
    odd = client.get("/?tab=nope&sort=nope&order=nope&due_by=nope&page=x")
    assert odd.status_code == 200 and task_links(odd.get_data(as_text=True)) == [late_id, fresh_id]


def test_empty_states_say_what_to_do(client, users):
    login(client, "dsw.staff")
    page = client.get("/").get_data(as_text=True)
    assert "目前沒有待辦任務" in page and "啟動流程" in page
    assert "到「可認領」分頁認領" in client.get("/?tab=assigned").get_data(as_text=True)
    assert "洽機關管理者" in client.get("/?tab=claimable").get_data(as_text=True)


def test_task_page_shows_instructions_context_and_other_tasks(client, org_db, users):
    iid = apply(org_db, users)
    task_id = ready_task(org_db, iid).id
    login(client, "dsw.unit")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert '<div class="instructions-text">' in page and "<li>" in page.split("instructions-text", 1)[1]
    assert f'href="/instances/{iid}"' in page and "dsw.staff" in page
    assert "案件資料" in page and "tsai.egov" in page
    assert "最近歷程" in page and "完成任務 Task completed" in page
    assert f'href="/tasks/{task_id}/print"' in page


def test_comment_is_shown_and_recorded_in_the_history(client, org_db, users):
    iid = apply(org_db, users)
    task_id = ready_task(org_db, iid).id
    login(client, "dsw.unit")
    path = f"/tasks/{task_id}"
    response = post(client, f"{path}/comments", {"body": "請補附件 <b>please</b>"}, page=path)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{path}#comments")
    page = client.get(path).get_data(as_text=True)
    assert "請補附件 &lt;b&gt;please&lt;/b&gt;" in page and "<b>please</b>" not in page
    history = client.get(f"/instances/{iid}").get_data(as_text=True)
    assert "留言 Comment" in history and "請補附件" in history
    empty = post(client, f"{path}/comments", {"body": "   "}, page=path)
    assert empty.status_code == 422 and "請輸入留言內容" in empty.get_data(as_text=True)
    with org_db.sessions() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action == "task_commented")))
    assert actions == ["task_commented"]


def test_comment_needs_csrf_and_visibility(client, org_db, users):
    task_id = ready_task(org_db, apply(org_db, users)).id
    login(client, "dsw.unit")
    assert client.post(f"/tasks/{task_id}/comments", data={"body": "x"}).status_code == 400
    logout(client)
    login(client, "daan.admin")
    assert post(client, f"/tasks/{task_id}/comments", {"body": "x"}).status_code == 404
    assert client.get(f"/tasks/{task_id}/print").status_code == 404


def test_print_view_shows_the_form_with_its_values(client, org_db, users):
    iid = apply(org_db, users)
    step(org_db, iid, "confirm_business_need", users["dsw.unit"], CONFIRM_NEED)
    review = ready_task(org_db, iid).id
    login(client, "dsw.admin")
    page = client.get(f"/tasks/{review}/print").get_data(as_text=True)
    assert '<table class="print-form">' in page and "js-print" in page and "<script>" not in page
    assert "/static/print.js" in page
    assert "☐" in page  # the unchecked review boxes, to tick on paper
    assert token_of(page)


def test_inbox_tabs_select_exactly_what_the_engine_rules_select(org_db, users, sim_clock):
    """The inbox's index-friendly SQL agrees with engine.assignment's my_task_filter and visible_instance_filter
    (used by the API) for every demo user, on a mix of applications and opened obligation periods."""
    from engine import timekeeping
    from web.inbox_queries import InboxQuery, inbox_page, tab_counts
    from web.queries import list_tasks

    sim_clock.set(dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    timekeeping.advance_to(org_db, dt.datetime(2026, 4, 5, tzinfo=dt.UTC))
    confirmed = apply(org_db, users)
    step(org_db, confirmed, "confirm_business_need", users["dsw.unit"], CONFIRM_NEED)
    apply(org_db, users, "daan.staff")
    apply(org_db, users, "dsw.user")
    seen = {"todo": 0, "all": 0}
    with org_db.sessions() as session:
        from engine.models import User

        for user in session.query(User).all():
            for tab, scope in (("todo", "mine"), ("all", "all")):
                expected, total = list_tasks(session, user, scope=scope, status="ready", per_page=1000)
                got = [r.task.id for r in inbox_page(session, user, InboxQuery(tab=tab))]
                assert total <= 50 and sorted(got) == sorted(t.id for t in expected), (user.username, tab)
                seen[tab] += total
                assert tab_counts(session, user, InboxQuery())[tab] == total, (user.username, tab)
    assert seen["todo"] > 10 and seen["all"] > seen["todo"]  # the data exercises both rules
