"""Helpers for tests that walk a process: ready tasks by name, completing them as a user, roles, new people."""

from __future__ import annotations

from sqlalchemy import select

from engine import runtime
from engine.models import Agency, HumanTask, InstanceStatus, ProcessInstance, RoleAssignment, TaskStatus, User
from workflows import org

# A process with one `user`-lane task: WebIR work that a revoked user must lose at once (R5.4, R6.4).
QUERY_WORK = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="webir_query_work" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane_user" name="user">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>query</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>e</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="query" name="WebIR query"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="query" />
    <bpmn:sequenceFlow id="f2" sourceRef="query" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
"""


def ready(db, instance_id: int) -> list[HumanTask]:
    with db.sessions() as session:
        return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                             HumanTask.status == TaskStatus.READY)
                                    .order_by(HumanTask.id)))


def ready_names(db, instance_id: int) -> list[str]:
    return [t.name for t in ready(db, instance_id)]


def task(db, instance_id: int, name: str) -> HumanTask:
    """The one ready task of this name."""
    [found] = [t for t in ready(db, instance_id) if t.name == name]
    return found


def step(db, instance_id: int, name: str, user_id: int, data: dict | None = None) -> None:
    """Complete the ready task `name` as this user."""
    runtime.complete_task(db, task(db, instance_id, name).id, user_id, data or {})


def status(db, instance_id: int) -> InstanceStatus:
    with db.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance.error_message is None, instance.error_message
        return instance.status


def roles(db, user_id: int) -> set[tuple[str, str]]:
    """(agency code, role) pairs the user holds now."""
    with db.sessions() as session:
        rows = session.execute(select(Agency.code, RoleAssignment.role).join(
            Agency, Agency.id == RoleAssignment.agency_id).where(RoleAssignment.user_id == user_id,
                                                                 RoleAssignment.revoked_at.is_(None)))
        return {(code, role) for code, role in rows}


def new_user(db, username: str, agency: str, roles=(), vendor: bool = False) -> int:
    with db.transaction() as session:
        return org.create_user(session, username, agency, "test-pass-1", roles=roles, vendor=vendor).id


def new_agency(db, code: str, name: str, delegated_by: str | None = None) -> None:
    with db.transaction() as session:
        org.create_agency(session, code, name, delegated_by=delegated_by)


def unapprove(db, code: str) -> None:
    """Make an agency not yet approved (as if it were new to WebIR)."""
    with db.transaction() as session:
        session.scalar(select(Agency).where(Agency.code == code)).approved_on = None


def user_id(db, username: str) -> int:
    with db.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


FORM_1_1 = {
    "unit": "資訊室 IT office", "job_title": "資訊管理師 IT officer", "contact_phone": "02-2720-8889",
    "egov_account": "hsu.egov", "citizen_certificate_uploaded": True, "purpose": "查核社會救助申請人之投保資料",
    "business_items": ["social_assistance"], "legal_basis": "社會救助法第 5 條之 1",
    "official_letter_number": "北市安社字第1150000001號", "application_date": "2026-03-02",
}
APPROVE_ONBOARDING = {"purpose_checked": True, "legal_basis_checked": True, "account_checked": True,
                      "decision": "approve", "approved_business_items": ["social_assistance"]}
CONSENT = {"consent_decision": "consent", "consent_reference": "北市社助字第1150000002號"}

CONFIRM_NEED = {"unit_decision": "confirm", "business_need_confirmed": True}
# Who completes which step of user_account_application in the demo organisation, per agency.
ACCOUNT_REVIEWERS = {"DSW": {"confirm_business_need": "dsw.unit", "review_application": "dsw.admin"},
                     "DAAN": {"review_application": "daan.admin"}}


def granted_webir_access(db, users: dict, username: str, agency: str = "DSW", items=("social_assistance",)) -> int:
    """Walk user_account_application for a person until granted; returns the instance id."""
    from conftest import FORM_1_2, GRANT

    iid = runtime.start_instance(db, "user_account_application", users[username])
    step(db, iid, "fill_form_1_2", users[username], {**FORM_1_2, "business_items": list(items)})
    reviewers = ACCOUNT_REVIEWERS[agency]
    if "confirm_business_need" in ready_names(db, iid):
        step(db, iid, "confirm_business_need", users[reviewers["confirm_business_need"]], CONFIRM_NEED)
    step(db, iid, "review_application", users[reviewers["review_application"]], GRANT)
    assert status(db, iid) == InstanceStatus.COMPLETED
    return iid
