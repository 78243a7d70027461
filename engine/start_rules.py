"""Who may start a process for which agency: the default rule, and the process-level `startableBy` property.

Default: anyone for their own agency; holders of a master role for any agency. A process whose
`bpmn:process` carries `<spiffworkflow:property name="startableBy" value="agency_staff"/>` acts on the
person who starts it (an account, an agency admin appointment), so only staff of the agency the instance
is for may start it, master roles included: the master admin cannot, say, onboard another agency as
its own administrator.
"""

from __future__ import annotations

import functools

from lxml import etree
from sqlalchemy.orm import Session

from engine.assignment import NotAllowed, holds_master_role
from engine.bundle import NS
from engine.models import Agency, ProcessVersion, User
from engine.specs import deployment_file

START_PROPERTY = "startableBy"
AGENCY_STAFF = "agency_staff"


@functools.lru_cache(maxsize=256)
def _process_property(xml: str, process_id: str, name: str) -> str | None:
    root = etree.fromstring(xml.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    process = root.find(f"bpmn:process[@id='{process_id}']", NS)
    if process is None:
        return None
    prop = process.find(f"bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='{name}']",
                        NS)
    return prop.get("value") if prop is not None else None


def start_rule(session: Session, version: ProcessVersion) -> str | None:
    """The process's `startableBy` property (None: the default rule)."""
    row = deployment_file(session, version.deployment_id, version.bpmn_filename)
    return _process_property(row.content, version.process_id, START_PROPERTY) if row else None


def check_may_start(session: Session, user: User, agency: Agency, version: ProcessVersion) -> None:
    """Raise NotAllowed unless this user may start this process for this agency."""
    if agency.id == user.agency_id:
        return
    if start_rule(session, version) == AGENCY_STAFF:
        raise NotAllowed("此流程只能由該機關人員啟動 Only staff of the agency may start this process for it")
    if not holds_master_role(session, user.id):
        raise NotAllowed("只能為自己的機關啟動流程 You may start processes only for your own agency")
