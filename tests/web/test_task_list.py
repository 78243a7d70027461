"""GET /api/v1/tasks and the instance list read human_task through index-friendly SQL (web.inbox_queries); these
tests prove they select exactly what the engine's rules (engine.assignment.my_task_filter and
visible_instance_filter, the slow shape they replaced) select, in the same order, for every user."""

from __future__ import annotations

import datetime as dt

from conftest import FORM_1_2
from process_walk import CONFIRM_NEED, new_user, step
from sqlalchemy import select

from engine import runtime, timekeeping
from engine.assignment import my_task_filter, visible_instance_filter
from engine.models import Agency, HumanTask, ProcessInstance, TaskStatus, User
from web.queries import instance_dict, instance_dicts, list_instances, list_tasks, task_dict, task_dicts
from workflows import org

ORDER = (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at, HumanTask.id)


def _rule(session, user, scope: str, status: str, process_id: str | None) -> list[int]:
    """The engine rule's shape: human_task joined with its instance, the rule's OR nested in an AND."""
    query = select(HumanTask.id).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(
        HumanTask.status == TaskStatus(status))
    if scope == "all":
        condition = visible_instance_filter(session, user)
        query = query if condition is True else query.where(condition)
    elif status == "ready":
        query = query.where(my_task_filter(session, user))
    else:
        query = query.where(HumanTask.completed_by_id == user.id)
    if process_id:
        query = query.where(HumanTask.process_id == process_id)
    return list(session.scalars(query.order_by(*ORDER)))


def _apply(db, users, username: str) -> int:
    iid = runtime.start_instance(db, "user_account_application", users[username])
    step(db, iid, "fill_form_1_2", users[username], FORM_1_2)
    return iid


def _mixed_data(db, users, sim_clock) -> dict:
    """Applications at several stages, opened obligation periods (many team tasks of every agency), and a DAAN
    person who held a DSW role, confirmed a DSW application with it and then lost the role: the instance stays
    visible to them through the task assigned to them (the rule's any-status part)."""
    sim_clock.set(dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    timekeeping.advance_to(db, dt.datetime(2026, 4, 5, tzinfo=dt.UTC))
    outsider = new_user(db, "daan.helper", "DAAN")
    with db.transaction() as session:
        dsw = session.scalar(select(Agency).where(Agency.code == "DSW"))
        org.grant_role(session, session.get(User, outsider), dsw, "unit_admin", actor="test")
    confirmed = _apply(db, users, "dsw.staff")
    step(db, confirmed, "confirm_business_need", outsider, CONFIRM_NEED)
    with db.transaction() as session:
        dsw = session.scalar(select(Agency).where(Agency.code == "DSW"))
        org.revoke_role(session, session.get(User, outsider), dsw, "unit_admin", actor="test")
    _apply(db, users, "dsw.staff")
    _apply(db, users, "daan.staff")
    _apply(db, users, "dsw.user")
    return {"outsider": outsider, "confirmed": confirmed}


def test_task_list_selects_what_the_engine_rules_select(org_db, users, sim_clock):
    data = _mixed_data(org_db, users, sim_clock)
    seen = {}
    with org_db.sessions() as session:
        processes = sorted(set(session.scalars(select(HumanTask.process_id)))) + ["no_such_process"]
        for user in session.scalars(select(User).order_by(User.id)).all():
            for scope in ("mine", "all"):
                for status in ("ready", "completed"):
                    for process_id in [None, *processes]:
                        expected = _rule(session, user, scope, status, process_id)
                        got, total = list_tasks(session, user, scope, status, process_id, per_page=10_000)
                        key = (user.username, scope, status, process_id)
                        assert [t.id for t in got] == expected and total == len(expected), key
                        seen[key] = len(expected)
                # paging keeps the order: page 2 of 3-row pages is rows 3..5
                expected = _rule(session, user, scope, "ready", None)
                page, total = list_tasks(session, user, scope, "ready", None, page=2, per_page=3)
                assert [t.id for t in page] == expected[3:6] and total == len(expected)
        outsider = session.get(User, data["outsider"])
        outsider_all, _ = list_tasks(session, outsider, "all", "ready", None, per_page=1000)
    # the data exercises every part of the rules
    assert sum(n for (_, scope, status, p), n in seen.items() if (scope, status, p) == ("mine", "ready", None)) > 10
    assert sum(n for (_, scope, status, p), n in seen.items() if (scope, status, p) == ("mine", "completed", None)) > 2
    assert seen[("dol.admin", "all", "ready", None)] > seen[("dsw.unit", "all", "ready", None)] > 0
    assert seen[("daan.helper", "mine", "completed", None)] == 1
    assert data["confirmed"] in [t.instance_id for t in outsider_all]  # review_application, another agency's


def test_inbox_all_tab_selects_what_the_api_selects(org_db, users, sim_clock):
    """The inbox's "all" tab uses the same visible-instance rule (its counts and rows), the outsider included."""
    from web.inbox_queries import InboxQuery, inbox_page, tab_counts

    data = _mixed_data(org_db, users, sim_clock)
    with org_db.sessions() as session:
        for user in session.scalars(select(User).order_by(User.id)).all():
            expected, total = list_tasks(session, user, "all", "ready", None, per_page=10_000)
            got = [r.task.id for r in inbox_page(session, user, InboxQuery(tab="all"))]
            assert total <= 50 and sorted(got) == sorted(t.id for t in expected), user.username
            assert tab_counts(session, user, InboxQuery())["all"] == total, user.username
        outsider = session.get(User, data["outsider"])
        rows = inbox_page(session, outsider, InboxQuery(tab="all"))
    assert data["confirmed"] in [r.task.instance_id for r in rows]


def test_instance_list_selects_what_the_engine_rule_selects(org_db, users, sim_clock):
    data = _mixed_data(org_db, users, sim_clock)
    with org_db.sessions() as session:
        for user in session.scalars(select(User).order_by(User.id)).all():
            query = select(ProcessInstance.id).order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
            condition = visible_instance_filter(session, user)
            expected = list(session.scalars(query if condition is True else query.where(condition)))
            got, total = list_instances(session, user, per_page=10_000)
            assert [i.id for i in got] == expected and total == len(expected), user.username
        outsider_sees, _ = list_instances(session, session.get(User, data["outsider"]), per_page=100)
    assert data["confirmed"] in [i.id for i in outsider_sees]


def test_api_task_list_answers_the_same_through_http(client, org_db, users, sim_clock, token_for):
    """The endpoint itself: mine / all / status / process_id give the rule's tasks, in order, with the total."""
    _mixed_data(org_db, users, sim_clock)
    headers = token_for("dsw.admin")
    with org_db.sessions() as session:
        user = session.scalar(select(User).where(User.username == "dsw.admin"))
        for query, args in (("", ("mine", "ready", None)), ("?scope=all", ("all", "ready", None)),
                            ("?scope=mine&status=completed", ("mine", "completed", None)),
                            ("?scope=all&status=completed", ("all", "completed", None)),
                            ("?scope=all&process_id=user_account_application",
                             ("all", "ready", "user_account_application"))):
            expected = _rule(session, user, *args)
            body = client.get(f"/api/v1/tasks{query}{'&' if query else '?'}per_page=100", headers=headers).get_json()
            assert [t["id"] for t in body["items"]] == expected[:100] and body["total"] == len(expected), query


def test_instance_list_pages_carry_the_total_and_past_the_end_still_count(org_db, users, sim_clock):
    """A page is the slice of the whole ordered list (cut from narrow rows, then read in full) and carries the
    whole list's count; a page past the end is empty and still counted."""
    _mixed_data(org_db, users, sim_clock)
    with org_db.sessions() as session:
        for user in session.scalars(select(User).order_by(User.id)).all():
            everything, total = list_instances(session, user, per_page=10_000)
            page, page_total = list_instances(session, user, page=2, per_page=3)
            assert [i.id for i in page] == [i.id for i in everything[3:6]] and page_total == total, user.username
            beyond, beyond_total = list_instances(session, user, page=total + 2, per_page=1)
            assert beyond == [] and beyond_total == total, user.username
            tasks, task_total = list_tasks(session, user, "all", "ready", None, per_page=10_000)
            assert list_tasks(session, user, "all", "ready", None, page=len(tasks) + 2, per_page=1) == ([], task_total)


def test_batched_rows_equal_the_one_at_a_time_rows(org_db, users, sim_clock):
    """The lists build their rows in a few queries for the whole page; each row is what the single-row
    instance_dict / task_dict (used by the detail endpoints) gives, ready tasks and names included."""
    _mixed_data(org_db, users, sim_clock)
    with org_db.sessions() as session:
        instances = list(session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)))
        tasks = list(session.scalars(select(HumanTask).order_by(HumanTask.id)))
        batched_instances, batched_tasks = instance_dicts(session, instances), task_dicts(session, tasks)
    with org_db.sessions() as session:  # a fresh session: nothing already loaded helps the single-row path
        single = [instance_dict(session, session.get(ProcessInstance, i.id)) for i in instances]
    with org_db.sessions() as session:
        single_tasks = [task_dict(session, session.get(HumanTask, t.id)) for t in tasks]
    assert batched_instances == single and batched_tasks == single_tasks
    assert any(d["ready_tasks"] for d in single) and any(t["completed_by"] for t in single_tasks)
    assert any(t["assignee"] for t in single_tasks) and all(d["agency"] for d in single)


def test_inbox_view_counts_and_claim_marks_match_the_separate_queries(org_db, users, sim_clock):
    """inbox_view (the page's rows with the current tab's count, then the other tabs' counts) answers exactly what
    tab_counts and inbox_page answer apart, on every tab and on a page past the end; may_claim is the rule's."""
    from engine.assignment import candidate_pairs
    from web.inbox_queries import TABS, InboxQuery, inbox_page, inbox_view, tab_counts

    _mixed_data(org_db, users, sim_clock)
    with org_db.sessions() as session:
        for user in session.scalars(select(User).order_by(User.id)).all():
            pairs = candidate_pairs(session, user.id)
            for tab in TABS:
                for page in (1, 9):
                    spec = InboxQuery(tab=tab, page=page)
                    with org_db.sessions() as apart:
                        me = apart.get(User, user.id)
                        expected_counts = tab_counts(apart, me, spec)
                        expected_rows = [(r.task.id, r.may_claim, r.may_unclaim, r.priority)
                                         for r in inbox_page(apart, me, spec)]
                    counts, rows = inbox_view(session, user, spec)
                    assert counts == expected_counts, (user.username, tab, page)
                    assert [(r.task.id, r.may_claim, r.may_unclaim, r.priority) for r in rows] == expected_rows
                    for r in rows:
                        t, starter = r.task, session.get(ProcessInstance, r.task.instance_id).started_by_id
                        assert r.may_claim == (t.status == TaskStatus.READY and t.role not in (None, "applicant")
                                               and t.assignee_id is None and (t.agency_id, t.role) in pairs
                                               and starter != user.id)


def test_inbox_pages_cut_from_narrow_rows_are_slices_of_the_whole_ordered_tab(org_db, users, sim_clock, monkeypatch):
    """inbox_page cuts each page from the union of the tab's disjoint parts (ids and sort keys only) and then reads
    its rows: for every tab, sort and order, with and without a filter, walking the pages (3 rows each) gives exactly
    the tab's tasks ordered in one statement, without a task twice or missing at a page boundary."""
    from web import inbox_queries
    from web.inbox_queries import ORDERS, SORTS, TABS, InboxQuery, inbox_page

    _mixed_data(org_db, users, sim_clock)
    monkeypatch.setattr(inbox_queries, "PER_PAGE", 3)
    longest = 0
    with org_db.sessions() as session:
        for user in session.scalars(select(User).order_by(User.id)).all():
            pairs = inbox_queries._pairs(session, user)
            for tab in TABS:
                for sort in SORTS:
                    for order in ORDERS:
                        for overdue in (False, True):
                            spec = InboxQuery(tab=tab, sort=sort, order=order, overdue=overdue)
                            whole = inbox_queries._base(session, user, spec, pairs, HumanTask.id)
                            expected = list(session.scalars(
                                whole.order_by(*inbox_queries.order_by(inbox_queries._sort_keys(session, spec)))))
                            walked, page = [], 1
                            while rows := inbox_page(session, user, InboxQuery(tab=tab, sort=sort, order=order,
                                                                               overdue=overdue, page=page)):
                                walked += [r.task.id for r in rows]
                                page += 1
                            assert walked == expected, (user.username, tab, sort, order, overdue)
                            longest = max(longest, len(expected))
    assert longest > 6  # several pages
