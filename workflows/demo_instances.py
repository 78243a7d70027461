"""Work in flight for the demo (`webir init-db --demo`): one function per process, each leaving a few instances
part-way, so every lifecycle process has something to look at in the inbox, the instance list and the calendar.

To add a process: write `def <process_id>(db) -> list[int]` that walks its instances with the runtime (as the
people of the demo organisation, in their own transactions) and add it to IN_FLIGHT.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine import clock, obligations, runtime
from engine.calendar import local_date
from engine.db import Database
from engine.models import Agency, HumanTask, TaskStatus, User
from workflows.demo import DEMO_PASSWORD, IN_FLIGHT_USERS
from workflows.org import create_agency, create_user

NEW_AGENCY = ("DOH", "臺北市政府衛生局 Department of Health")
FORM_1_1_XINYI = {
    "unit": "社會課 Social affairs section", "job_title": "課員 Officer", "egov_account": "kao.egov",
    "citizen_certificate_uploaded": True, "purpose": "受社會局委託辦理社會救助資格查核",
    "business_items": ["social_assistance"], "legal_basis": "社會救助法第 5 條之 1、第 10 條",
    "official_letter_number": "北市信社字第1150000001號",
}
FORM_1_1_DOH = {
    "unit": "企劃科 Planning section", "job_title": "技士 Technical officer", "egov_account": "ho.egov",
    "citizen_certificate_uploaded": True, "purpose": "查核醫療補助申請人之投保資料",
    "business_items": ["social_assistance"], "legal_basis": "社會救助法第 5 條之 1",
    "official_letter_number": "北市衛企字第1150000004號",
}
FORM_1_2 = {
    "unit": "社會救助科 Social Assistance", "job_title": "社工員 Social worker", "employment_type": "civil_servant",
    "purpose": "查核低收入戶資格", "business_items": ["social_assistance"], "legal_basis": "社會救助法第 5 條",
    "requested_role": "user",
}
CONFIRM_NEED = {"unit_decision": "confirm", "business_need_confirmed": True}
GRANT = {"purpose_checked": True, "legal_basis_checked": True, "within_business_scope": True, "decision": "grant"}


def _today() -> str:
    return local_date(clock.now()).isoformat()


def _ids(db: Database) -> dict[str, int]:
    with db.sessions() as session:
        return {u.username: u.id for u in session.scalars(select(User))}


def _ready(db: Database, instance_id: int, name: str, assignee_id: int | None = None) -> int:
    with db.sessions() as session:
        query = select(HumanTask.id).where(HumanTask.instance_id == instance_id, HumanTask.name == name,
                                           HumanTask.status == TaskStatus.READY)
        if assignee_id is not None:
            query = query.where(HumanTask.assignee_id == assignee_id)
        return session.scalar(query.order_by(HumanTask.id).limit(1))


def _step(db: Database, instance_id: int, name: str, user_id: int, data: dict, mine: bool = False) -> None:
    """Complete the ready task `name` as this user (`mine`: the one assigned to them personally)."""
    runtime.complete_task(db, _ready(db, instance_id, name, user_id if mine else None), user_id, data)


def add_in_flight_people(db: Database) -> None:
    """The agency and the people the in-flight work needs (once)."""
    with db.transaction() as session:
        if session.scalar(select(Agency.id).where(Agency.code == NEW_AGENCY[0])) is None:
            create_agency(session, *NEW_AGENCY, actor="demo")
        for username, agency, roles, vendor, display in IN_FLIGHT_USERS:
            if session.scalar(select(User.id).where(User.username == username)) is None:
                create_user(session, username, agency, DEMO_PASSWORD, roles=roles, vendor=vendor, display_name=display,
                            actor="demo")


def _apply_for_webir(db: Database, users: dict[str, int], username: str, egov: str) -> int:
    iid = runtime.start_instance(db, "user_account_application", users[username])
    _step(db, iid, "fill_form_1_2", users[username], {**FORM_1_2, "egov_account": egov, "application_date": _today()})
    return iid


def granted_webir_user(db: Database, users: dict[str, int], username: str, egov: str) -> int:
    """A completed user_account_application: confirmed by the unit supervisor, granted by the agency admin."""
    iid = _apply_for_webir(db, users, username, egov)
    _step(db, iid, "confirm_business_need", users["dsw.unit"], CONFIRM_NEED)
    _step(db, iid, "review_application", users["dsw.admin"], GRANT)
    return iid


def agency_onboarding(db: Database) -> list[int]:
    """XINYI (commissioned by DSW) filed Form 1-1 and waits for DSW's consent (R4.1, R5.2); DOH filed Form 1-1
    and waits for the master admin's review (R2.1, R3.1)."""
    users = _ids(db)
    xinyi = runtime.start_instance(db, "agency_onboarding", users["xinyi.staff"], "XINYI")
    _step(db, xinyi, "fill_form_1_1", users["xinyi.staff"], {**FORM_1_1_XINYI, "application_date": _today()})
    doh = runtime.start_instance(db, "agency_onboarding", users["doh.staff"], "DOH")
    _step(db, doh, "fill_form_1_1", users["doh.staff"], {**FORM_1_1_DOH, "application_date": _today()})
    return [xinyi, doh]


def user_account_application(db: Database) -> list[int]:
    """Two granted (dsw.deputy, dsw.leaver; their Form 1-2 on file) and dsw.newhire's waiting for the unit
    supervisor (R5.3)."""
    users = _ids(db)
    granted = [granted_webir_user(db, users, "dsw.deputy", "kuo.egov"),
               granted_webir_user(db, users, "dsw.leaver", "feng.egov")]
    return [*granted, _apply_for_webir(db, users, "dsw.newhire", "lin.egov")]


def account_revocation(db: Database) -> list[int]:
    """dsw.leaver resigns: the agency admin is to write the date on Form 1-2 and remove access (R5.4, R7.2)."""
    users = _ids(db)
    iid = runtime.start_instance(db, "account_revocation", users["dsw.leaver"])
    _step(db, iid, "fill_revocation_request", users["dsw.leaver"], {
        "reason_kind": "resigned", "reason": "月底離職 Leaving at the end of the month", "effective_date": _today()})
    return [iid]


def agency_admin_change(db: Database) -> list[int]:
    """DSW's head asks to replace dsw.admin2 by dsw.user; the master admin is to review it (R3.2)."""
    users = _ids(db)
    iid = runtime.start_instance(db, "agency_admin_change", users["dsw.head"])
    _step(db, iid, "fill_admin_change", users["dsw.head"], {
        "outgoing_admin": "dsw.admin2", "incoming_admin": "dsw.user", "incoming_egov_account": "chou.egov",
        "incoming_certificate_uploaded": True, "reason": "原管理者調職 The admin was transferred",
        "official_letter_number": "北市社資字第1150000003號", "application_date": _today()})
    return [iid]


def proxy_query_authorization(db: Database) -> list[int]:
    """dsw.user authorises dsw.deputy for one urgent case (Form 3); the agency admin is to file it (R6.2)."""
    users = _ids(db)
    today = local_date(clock.now())
    iid = runtime.start_instance(db, "proxy_query_authorization", users["dsw.user"])
    _step(db, iid, "fill_form_3", users["dsw.user"], {
        "proxy_username": "dsw.deputy", "case_number": "115-社救-00042", "business_items": ["social_assistance"],
        "urgency": "urgent", "reason": "承辦人出差，個案急需審核 Caseworker away, urgent case",
        "valid_from": today.isoformat(), "valid_until": (today + dt.timedelta(days=29)).isoformat(),
        "authorisation_date": today.isoformat()})
    return [iid]


def password_rotation(db: Database) -> list[int]:
    """DSW's current password-rotation period, opened as the calendar opens it (R5.6). Before its due date each
    admin and user has an acknowledgement in their inbox (dsw.user has already acknowledged); once past due,
    the calendar opens it late and the open acknowledgements have escalated to the agency admin and head."""
    with db.sessions() as session:
        agency = session.scalar(select(Agency).where(Agency.code == "DSW"))
        obligation = obligations.definitions(session).get("password_rotation")
        if obligation is None or agency.approved_on is None:
            return []
        now = clock.now()
        owed = obligation.periods(agency.approved_on, local_date(now) + dt.timedelta(days=obligation.every_days))
        opened = [p for p in owed if p.opens_at <= now]
        period = opened[-1] if opened else owed[0]  # the current period; the first one if none has opened yet
    iid = obligations.open_period(db, agency.id, obligation, period)
    if iid is not None and period.due_at > now:
        _step(db, iid, "acknowledge_password_change", _ids(db)["dsw.user"],
              {"password_changed": True, "changed_on": _today()}, mine=True)
    return [iid] if iid is not None else []


# In the order they run (granted users before the revocation and the proxy that need them).
IN_FLIGHT = (agency_onboarding, user_account_application, account_revocation, agency_admin_change,
             proxy_query_authorization, password_rotation)


def start_all(db: Database) -> dict[str, list[int]]:
    """Run every function of IN_FLIGHT; process id -> the instance ids it left."""
    add_in_flight_people(db)
    return {step.__name__: step(db) for step in IN_FLIGHT}
