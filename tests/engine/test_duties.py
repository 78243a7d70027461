"""Separation of duties as data (R3.5): an auditor of an agency may not also act as its admin or user."""

from __future__ import annotations

import pytest
from conftest import CONFIRM, FORM_1_2, GRANT
from sqlalchemy import select

from engine import runtime
from engine.assignment import NotAllowed, my_task_filter
from engine.bundle import BundleError, ModelFile
from engine.duties import DutiesError, parse_rules
from engine.models import Agency, HumanTask, ProcessInstance, TaskStatus, User
from workflows import bundled, org


def _review_task(db, users) -> int:
    iid = runtime.start_instance(db, "user_account_application", users["dsw.staff"])
    runtime.complete_task(db, _ready(db, iid), users["dsw.staff"], FORM_1_2)
    runtime.complete_task(db, _ready(db, iid), users["dsw.unit"], CONFIRM)
    return _ready(db, iid)


def _ready(db, iid) -> int:
    with db.sessions() as session:
        return session.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                         HumanTask.status == TaskStatus.READY))


def _give_admin_role_to_the_auditor(db) -> None:
    with db.transaction() as session:
        auditor = session.scalar(select(User).where(User.username == "dsw.audit"))
        org.grant_role(session, auditor, session.scalar(select(Agency).where(Agency.code == "DSW")), "agency_admin")


@pytest.mark.clause("R3.5")
def test_r3_5_auditor_who_also_holds_admin_may_not_review_and_does_not_see_the_task(org_db, users):
    _give_admin_role_to_the_auditor(org_db)
    task = _review_task(org_db, users)
    with pytest.raises(NotAllowed):
        runtime.complete_task(org_db, task, users["dsw.audit"], GRANT)
    with org_db.sessions() as session:
        auditor = session.get(User, users["dsw.audit"])
        mine = session.scalars(select(HumanTask.id).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                               .where(my_task_filter(session, auditor))).all()
    assert task not in mine
    runtime.complete_task(org_db, task, users["dsw.admin"], GRANT)  # a plain admin still can


def test_without_the_rules_file_the_same_person_could_act(org_db, users):
    with org_db.transaction() as session:  # an analyst deploys an empty rule set
        bundled.deploy_files(session, [ModelFile("separation_of_duties.json", b'{"rules": []}'),
                                       ModelFile("user_account_application.bpmn", (bundled.BUNDLED_DIR /
                                                 "user_account_application.bpmn").read_bytes())], "t", "t")
    _give_admin_role_to_the_auditor(org_db)
    task = _review_task(org_db, users)
    runtime.complete_task(org_db, task, users["dsw.audit"], GRANT)


def test_broken_rules_file_is_refused_at_deploy(org_db):
    with pytest.raises(BundleError) as refused, org_db.transaction() as session:
        bundled.deploy_files(session, [ModelFile("separation_of_duties.json", b'{"rules": [{"id": "x"}]}'),
                                       ModelFile("user_account_application.bpmn", (bundled.BUNDLED_DIR /
                                                 "user_account_application.bpmn").read_bytes())], "t", "t")
    assert refused.value.problems[0].file == "separation_of_duties.json"


def test_rules_need_non_empty_role_lists():
    with pytest.raises(DutiesError, match="non-empty"):
        parse_rules('{"rules": [{"id": "x", "holders_of": [], "may_not_act_as": ["user"]}]}')
