"""An agency's comparison method (R3.4, R6.6): the monthly count by unit admins (R3.3, default) or one by one.

With the per-record method the `monthly_register_check` skips the unit admins' manual steps (collecting the
registers, confirming the count comparison): every logged query is compared with the register by the system.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine import audit, clock
from engine.models import Agency
from workflows.models_records import AgencyRecordSetting


def per_record_method(session: Session, agency_id: int) -> bool:
    """Whether the agency uses the one-by-one method (no row: the count method)."""
    setting = session.get(AgencyRecordSetting, agency_id)
    return bool(setting and setting.per_record_method)


def set_per_record_method(session: Session, agency: Agency, enabled: bool, actor: str | None) -> AgencyRecordSetting:
    """Choose the agency's method (R3.4, R6.6); the change is audited. Periods opened later follow it."""
    setting = session.get(AgencyRecordSetting, agency.id)
    before = bool(setting and setting.per_record_method)
    if setting is None:
        setting = AgencyRecordSetting(agency_id=agency.id)
        session.add(setting)
    setting.per_record_method, setting.changed_at, setting.changed_by = bool(enabled), clock.now(), actor
    session.flush()
    audit.record(session, "agency_record_method_set", actor, agency=agency.code, before=before,
                 per_record_method=bool(enabled), clauses="R3.4,R6.6")
    return setting
