"""Domain tables of investigations and audits: improper-query cases (R6.3, R6.4), master-agency audits and their
corrective-action items (追蹤項目, R2.3, R4.2, R8.2)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow


class ImproperQueryCase(Base):
    """An improper-query investigation (R6.4): who, from which findings, the querier's statement, the audit
    team's decision and the accountability pursued (追究責任), and the revocation it started."""

    __tablename__ = "improper_query_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    querier_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # explanation_review | audit_team
    explanation_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    finding_ids: Mapped[list] = mapped_column(default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    statement: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(20))  # proper | improper
    decision_reason: Mapped[str | None] = mapped_column(Text)
    accountability: Mapped[str | None] = mapped_column(String(20))  # none | warning | disciplinary | referral
    accountability_text: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    access_revoked_at: Mapped[dt.datetime | None] = mapped_column()
    revocation_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))


class MasterAudit(Base):
    """An irregular audit by the master audit team, or by BLI with the team's cooperation (R2.3, R8.2): the
    agencies audited and, when sampled, the seed that reproduces the sample."""

    __tablename__ = "master_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    auditor: Mapped[str] = mapped_column(String(20))  # master_audit | bli
    selection: Mapped[str] = mapped_column(String(10))  # chosen | random
    seed: Mapped[str | None] = mapped_column(String(64))
    population: Mapped[list] = mapped_column(default=list)  # agency codes sampled from, in order
    agencies: Mapped[list] = mapped_column(default=list)  # agency codes audited
    scope: Mapped[str | None] = mapped_column(Text)
    evidence_due_on: Mapped[dt.date | None] = mapped_column(Date)
    opened_by: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MasterAuditAgency(Base):
    """One audited agency of a master audit: the evidence it gave, its delegating agency's cooperation (R4.2)
    and the master team's review."""

    __tablename__ = "master_audit_agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("master_audit.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    evidence: Mapped[list] = mapped_column(default=list)
    evidence_by: Mapped[str | None] = mapped_column(String(64))
    evidence_at: Mapped[dt.datetime | None] = mapped_column()
    cooperation: Mapped[dict] = mapped_column(default=dict)
    result: Mapped[str | None] = mapped_column(String(20))  # no_deficiency | deficiencies
    findings: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column()


class CorrectiveAction(Base):
    """A deficiency the audited agency must correct at once (R8.2), tracked until closed (追蹤項目)."""

    __tablename__ = "corrective_action"
    __table_args__ = (Index("ix_corrective_action_open", "agency_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_agency_id: Mapped[int] = mapped_column(ForeignKey("master_audit_agency.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    title: Mapped[str] = mapped_column(String(200))
    clause: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | closed
    action_taken: Mapped[str | None] = mapped_column(Text)
    evidence_reference: Mapped[str | None] = mapped_column(String(300))
    corrected_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
