"""The dashboard's on-time charts (server-rendered SVG: by month due, by obligation, by agency) and the open
reconciliation findings per agency."""

from __future__ import annotations

import re

from process_walk import status, step
from session_helpers import login
from sqlalchemy import select
from test_dashboard_pages import late_calendar  # noqa: F401  (fixture)

from engine.models import Agency, InstanceStatus, ObligationPeriod
from web.security import CONTENT_SECURITY_POLICY
from workflows.models_records import ReconciliationFinding, ReconciliationRun
from workflows.query_log import import_query_log

EMPTY_LOG = "查詢時間,查詢者帳號,被查詢人身分證號,查詢項目,案件編號\n"  # a WebIR export of a month without queries


def _agency_id(db, code) -> int:
    with db.sessions() as session:
        return session.scalar(select(Agency.id).where(Agency.code == code))


def _complete_february_check(db, users, tmp_path) -> None:
    """DSW's February register check walked as the unit admin and the agency admin do it: the month's query log
    (no queries) imported, the register collected, the counts confirmed, the report received (R3.3, R6.5)."""
    (tmp_path / "log.csv").write_text(EMPTY_LOG, encoding="utf-8")
    import_query_log(db, tmp_path / "log.csv", "DSW", tmp_path)
    with db.sessions() as session:
        period = session.scalar(select(ObligationPeriod).where(
            ObligationPeriod.agency_id == _agency_id(db, "DSW"), ObligationPeriod.label == "2026-02",
            ObligationPeriod.obligation_id == "monthly_register_check"))
    step(db, period.instance_id, "collect_register", users["dsw.unit"], {"registers_collected": True})
    step(db, period.instance_id, "confirm_counts", users["dsw.unit"], {"counts_agree": True})
    step(db, period.instance_id, "receive_monthly_report", users["dsw.admin"], {"acknowledged": True})
    assert status(db, period.instance_id) == InstanceStatus.COMPLETED


def _bar(page: str, cls: str, attr: str, key: str) -> tuple[int, int]:
    pattern = rf'<(?:g|li) class="{cls}" {attr}="{re.escape(key)}" data-on-time="(\d+)" data-total="(\d+)"'
    match = re.search(pattern, page)
    assert match, (cls, key)
    return int(match.group(1)), int(match.group(2))


def test_on_time_chart_counts_decided_periods_by_month_obligation_and_agency(late_calendar, users,  # noqa: F811
                                                                              tmp_path):
    db = late_calendar.application.extensions["webir_db"]
    _complete_february_check(db, users, tmp_path)  # 5 March: February's check done before its due date (31 March)
    login(late_calendar, "dsw.admin")
    page = late_calendar.get("/dashboard?year=2026").get_data(as_text=True)
    assert '<svg class="chart-svg on-time-months"' in page and "<script" not in page.split("</main>")[0]
    # monthly_register_check: January's is late (due 28 Feb, not done), February's done on time, per agency
    assert _bar(page, "rate-bar", "data-key", "monthly_register_check") == (1, 3)  # DSW and DAAN January, DSW Feb
    assert _bar(page, "rate-bar", "data-key", "DSW")[0] == 1
    assert _bar(page, "rate-bar", "data-key", "DAAN")[0] == 0
    assert _bar(page, "month-bar", "data-month", "3")[0] == 1  # February's check is due in March
    on_time_feb, total_feb = _bar(page, "month-bar", "data-month", "2")
    assert on_time_feb == 0 and total_feb >= 2  # both January checks were due in February and are late
    assert _bar(page, "month-bar", "data-month", "12") == (0, 0)  # nothing decided yet
    figures = page.split('class="chart-figures"', 1)[1].split("</details>", 1)[0]
    assert re.search(r'<th scope="row">[^<]*</th><td class="num">1</td><td class="num">3</td>', figures), figures
    one = late_calendar.get("/dashboard?agency=DAAN&year=2026").get_data(as_text=True)
    assert _bar(one, "rate-bar", "data-key", "monthly_register_check") == (0, 1)
    assert 'id="on-time-agencies"' not in one  # one agency: no per-agency chart


def test_year_without_decided_periods_says_so(late_calendar):  # noqa: F811
    login(late_calendar, "dsw.admin")
    page = late_calendar.get("/dashboard?year=2027").get_data(as_text=True)
    assert "so there is no on-time rate yet" in page and "on-time-months" not in page


def test_csp_allows_the_chart_without_inline_script():
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY  # the chart is SVG markup: no script needed


def _findings(db, code, period, rows) -> int:
    """A reconciliation run of `code` for `period` with findings (type, explanation task?, reviewed?)."""
    with db.transaction() as session:
        run = ReconciliationRun(agency_id=_agency_id(db, code), period=period, tolerance_seconds=86400,
                                counts={}, log_records=0, register_entries=0)
        session.add(run)
        session.flush()
        for finding_type, reviewed in rows:
            session.add(ReconciliationFinding(run_id=run.id, finding_type=finding_type, account="dsw.user",
                                              review_decision="accepted" if reviewed else None))
        return run.id


def _findings_row(page: str, code: str) -> list[str]:
    table = page.split('<table class="findings">', 1)[1].split("</table>", 1)[0]
    row = re.search(rf'<tr class="needs-attention" data-agency="{code}">(.*?)</tr>', table, re.S)
    return re.findall(r'<td class="num[^"]*">([\d,]+)</td>', row.group(1)) if row else []


def test_open_findings_per_agency_count_only_unreviewed_of_the_latest_run(late_calendar):  # noqa: F811
    db = late_calendar.application.extensions["webir_db"]
    _findings(db, "DSW", "2026-01", [("off_hours", False)] * 5)  # replaced by the re-run below
    _findings(db, "DSW", "2026-01", [("off_hours", False), ("logged_not_registered", False),
                                     ("querier_mismatch", True)])
    _findings(db, "DSW", "2026-02", [("registered_not_logged", False)])
    _findings(db, "DAAN", "2026-01", [("off_hours", True)])  # all reviewed: nothing open
    login(late_calendar, "dsw.admin")
    page = late_calendar.get("/dashboard").get_data(as_text=True)
    assert _findings_row(page, "DSW") == ["3", "0", "3"]  # open, with a task, without one
    assert "2026-01 – 2026-02" in page
    assert _findings_row(page, "DAAN") == []
    assert 'href="/instances?process_id=query_explanation&amp;agency=DSW&amp;status=running"' in page
    login(late_calendar, "daan.admin")
    daan = late_calendar.get("/dashboard").get_data(as_text=True)
    assert _findings_row(daan, "DSW") == [] and "No open findings" in daan
