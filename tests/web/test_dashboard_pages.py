"""The compliance dashboard: the month x obligation grid per agency with status colours, late and missed first,
drill-down to instances, and the master-agency view across agencies."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from session_helpers import login

from engine import timekeeping


@pytest.fixture
def late_calendar(client, sim_clock):
    """Demo agencies approved 2026-01-01; on 5 March January's register check is late, February's open."""
    sim_clock.set(dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    timekeeping.advance_to(client.application.extensions["webir_db"], dt.datetime(2026, 3, 5, tzinfo=dt.UTC))
    return client


def grid(page: str, code: str) -> str:
    return page.split(f'id="grid-{code}"', 1)[1].split("</section>", 1)[0]


def test_grid_shows_each_month_with_status_and_links_to_the_instance(late_calendar):
    login(late_calendar, "daan.admin")
    page = late_calendar.get("/dashboard").get_data(as_text=True)
    daan = grid(page, "DAAN")
    assert daan.count('<th scope="col" class="month') == 12
    january = re.search(r'<a class="period cell-late" href="/instances/(\d+)" title="2026-01 逾期 Late', daan)
    assert january, daan
    assert re.search(r'<a class="period cell-open" href="/instances/\d+" title="2026-02 進行中 Open', daan)
    assert re.search(r'<span class="period cell-scheduled" title="2026-03 排定 Scheduled', daan)
    assert '<td colspan="3" class="has-period">' in daan  # a quarter spans three months
    assert 'href="/instances?process_id=monthly_register_check&amp;agency=DAAN"' in daan
    attention = page.split('class="obligations attention"', 1)[1].split("</table>", 1)[0]
    assert attention.index("逾期 Late") < attention.index("進行中 Open")
    drill = late_calendar.get("/instances?process_id=monthly_register_check&agency=DAAN").get_data(as_text=True)
    assert f'href="/instances/{january.group(1)}"' in drill


def test_master_view_lists_every_agency_late_first(late_calendar):
    login(late_calendar, "dol.admin")
    page = late_calendar.get("/dashboard").get_data(as_text=True)
    summary = page.split('<table class="agency-summary">', 1)[1].split("</table>", 1)[0]
    assert "DAAN" in summary and "DSW" in summary and 'class="needs-attention"' in summary
    assert 'id="grid-DAAN"' in page and 'id="grid-DSW"' in page
    one = late_calendar.get("/dashboard?agency=dsw").get_data(as_text=True)
    assert 'id="grid-DSW"' in one and 'id="grid-DAAN"' not in one


@pytest.mark.parametrize("username, seen, unseen", [("dsw.admin", ["DSW", "DAAN"], []),
                                                     ("daan.admin", ["DAAN"], ["DSW"])])
def test_agencies_see_their_own_and_those_they_commissioned(late_calendar, username, seen, unseen):
    login(late_calendar, username)
    page = late_calendar.get("/dashboard").get_data(as_text=True)
    for code in seen:
        assert f'id="grid-{code}"' in page
    for code in unseen:
        assert f'id="grid-{code}"' not in page and f"<td>{code}</td>" not in page
    assert 'id="grid-DSW"' not in late_calendar.get("/dashboard?agency=DSW").get_data(as_text=True) or "DSW" in seen


def test_another_year_shows_only_scheduled_periods(late_calendar):
    login(late_calendar, "daan.admin")
    page = late_calendar.get("/dashboard?year=2027").get_data(as_text=True)
    daan = grid(page, "DAAN")
    assert "cell-scheduled" in daan and "cell-late" not in daan and "cell-open" not in daan
    assert "義務行事曆 2027 年" in page
    assert late_calendar.get("/dashboard?year=abc").status_code == 200


def test_cancelled_period_shows_cancelled_in_grid_and_attention_not_done(late_calendar, users):
    from sqlalchemy import select

    from engine import admin_ops
    from engine.models import Agency, ObligationPeriod

    db = late_calendar.application.extensions["webir_db"]
    with db.sessions() as session:
        daan = session.scalar(select(Agency).where(Agency.code == "DAAN"))
        february = session.scalar(select(ObligationPeriod).where(
            ObligationPeriod.agency_id == daan.id, ObligationPeriod.obligation_id == "monthly_register_check",
            ObligationPeriod.label == "2026-02"))
    admin_ops.cancel_instance(db, february.instance_id, users["daan.admin"], "誤開 opened by mistake")
    login(late_calendar, "daan.admin")
    page = late_calendar.get("/dashboard").get_data(as_text=True)
    daan_grid = grid(page, "DAAN")
    assert re.search(rf'<a class="period cell-cancelled" href="/instances/{february.instance_id}" '
                     r'title="2026-02 已撤銷 Cancelled', daan_grid)
    assert "2026-02 已完成" not in daan_grid
    attention = page.split('class="obligations attention"', 1)[1].split("</table>", 1)[0]
    assert attention.index("逾期 Late") < attention.index("已撤銷 Cancelled")
