"""The demo organisation: master agency DOL, user agency DSW, district offices DAAN and XINYI (commissioned by DSW;
XINYI is not approved yet: its onboarding waits for DSW's consent). The work left in flight for the demo is in
workflows/demo_instances.py, one function per process."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db import Database
from engine.models import Agency
from workflows.org import create_agency, create_user

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed by `make run` on purpose (demo only)
AGENCIES = (
    ("DOL", "臺北市政府勞動局 Department of Labor", None, True),
    ("DSW", "臺北市政府社會局 Department of Social Welfare", None, False),
    ("DAAN", "臺北市大安區公所 Da'an District Office", "DSW", False),
)
# Agencies that still have to go through agency_onboarding (no approval date).
NEW_AGENCIES = (("XINYI", "臺北市信義區公所 Xinyi District Office", "DSW"),)
# (username, agency, roles, vendor, display name)
USERS = (
    ("dol.admin", "DOL", ["master_admin"], False, "王總管 Wang (master admin)"),
    ("dol.audit", "DOL", ["master_audit"], False, "林稽核 Lin (master audit)"),
    ("dol.analyst", "DOL", ["analyst"], False, "陳分析 Chen (analyst)"),
    ("dsw.admin", "DSW", ["agency_admin"], False, "張管理 Chang (agency admin)"),
    ("dsw.admin2", "DSW", ["agency_admin"], False, "吳管理 Wu (agency admin)"),
    ("dsw.unit", "DSW", ["unit_admin"], False, "李單位 Li (unit admin)"),
    ("dsw.audit", "DSW", ["agency_audit"], False, "黃稽核 Huang (agency audit)"),
    ("dsw.head", "DSW", ["agency_head"], False, "劉局長 Liu (agency head)"),
    ("dsw.user", "DSW", ["user"], False, "周使用者 Chou (WebIR user)"),
    ("dsw.staff", "DSW", [], False, "蔡承辦 Tsai (staff, may apply)"),
    ("dsw.vendor", "DSW", [], True, "委外廠商 Vendor employee"),
    ("daan.admin", "DAAN", ["agency_admin"], False, "許管理 Hsu (district admin)"),
    ("daan.staff", "DAAN", [], False, "鄭承辦 Cheng (district staff)"),
    ("xinyi.staff", "XINYI", [], False, "高承辦 Kao (Xinyi staff, onboarding)"),
)

# People the in-flight work needs besides the demo organisation: (username, agency, roles, vendor, display).
IN_FLIGHT_USERS = (
    ("dsw.newhire", "DSW", [], False, "林新進 Lin (new staff, applying)"),
    ("dsw.deputy", "DSW", [], False, "郭代理 Kuo (WebIR user, proxy)"),
    ("dsw.leaver", "DSW", [], False, "馮離職 Feng (WebIR user, leaving)"),
    ("doh.staff", "DOH", [], False, "何承辦 Ho (Health staff, onboarding)"),
)


def demo_approval_date(today: dt.date) -> dt.date:
    """Demo agencies were approved three months before the first run, so the calendar has history to show."""
    months = today.year * 12 + today.month - 1 - 3
    return dt.date(months // 12, months % 12 + 1, 1)


def load_demo(session: Session, approved_on: dt.date) -> bool:
    """Create the demo organisation once; False when it is already there."""
    if session.scalar(select(Agency.id).where(Agency.code == "DOL")):
        return False
    for code, name, parent, master in AGENCIES:
        create_agency(session, code, name, delegated_by=parent, master=master,
                      approved_on=None if master else approved_on,
                      actor="demo")
    for code, name, parent in NEW_AGENCIES:
        create_agency(session, code, name, delegated_by=parent, actor="demo")
    for username, agency, roles, vendor, display in USERS:
        create_user(session, username, agency, DEMO_PASSWORD, roles=roles, vendor=vendor,
                    display_name=display, actor="demo")
    return True


def start_demo_instances(db: Database) -> dict[str, list[int]]:
    """Leave work in flight for every lifecycle process (workflows/demo_instances.py, one function per process):
    process id -> the instance ids left running."""
    from workflows import demo_instances

    return demo_instances.start_all(db)
