"""Domain tables of the account lifecycle (articles 2-6): Form 1-1, consents, revocations, admin changes, Form 3."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow


class OnboardingApplication(Base):
    """A filed Form 1-1 (R3.1, R5.1): an agency's application for WebIR, reviewed by the master admin (R2.1)."""

    __tablename__ = "onboarding_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    delegating_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    form: Mapped[dict] = mapped_column(default=dict)
    egov_account: Mapped[str | None] = mapped_column(String(64))
    business_items: Mapped[list] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="submitted")  # submitted, approved, refused
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("delegation_consent.id"))
    approved_business_items: Mapped[list] = mapped_column(default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column()


class AgencyBusinessItem(Base):
    """A business item the master agency approved for an agency (R2.1, R3.1); withdrawn rows are kept."""

    __tablename__ = "agency_business_item"
    __table_args__ = (Index("ix_agency_business_item_current", "agency_id", "withdrawn_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    item: Mapped[str] = mapped_column(String(40))
    approved_on: Mapped[dt.date] = mapped_column(Date)
    source_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column()


class DelegationConsent(Base):
    """The delegating agency's consent or refusal for a commissioned agency's WebIR use (R4.1, R5.2)."""

    __tablename__ = "delegation_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    commissioned_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    delegating_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    decision: Mapped[str] = mapped_column(String(20))  # consented, refused
    scope: Mapped[list] = mapped_column(default=list)
    purpose: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(100))
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AccountRevocation(Base):
    """A user's WebIR access revoked (R5.4); the paper forms may be destroyed from `destroy_not_before` (R7.2)."""

    __tablename__ = "account_revocation"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("account_application.id"))
    requested_by: Mapped[str | None] = mapped_column(String(64))
    reason_kind: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    revocation_date: Mapped[dt.date] = mapped_column(Date)
    destroy_not_before: Mapped[dt.date] = mapped_column(Date)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AgencyAdminChange(Base):
    """An application to change the agency administrator (R3.2) and the master admin's decision."""

    __tablename__ = "agency_admin_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    outgoing_admin_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    incoming_admin_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    form: Mapped[dict] = mapped_column(default=dict)
    outcome: Mapped[str] = mapped_column(String(20))  # approved, refused
    reason: Mapped[str | None] = mapped_column(Text)
    tasks_reassigned: Mapped[int] = mapped_column(default=0)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProxyAuthorization(Base):
    """A proxy-query authorisation, Form 3 (R6.2); register entries made under it reference its id."""

    __tablename__ = "proxy_authorization"
    __table_args__ = (Index("ix_proxy_authorization_lookup", "authorising_user_id", "proxy_user_id",
                            "case_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    authorising_user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    proxy_user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    case_number: Mapped[str] = mapped_column(String(100))
    scope: Mapped[list] = mapped_column(default=list)
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(20))  # official_need, urgent
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    form: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="submitted")  # submitted, filed
    official_document_number: Mapped[str | None] = mapped_column(String(100))
    filed_on: Mapped[dt.date | None] = mapped_column(Date)
    filed_by: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column()
