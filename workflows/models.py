"""Domain tables of the regulation kept outside task data (forms as filed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow


class AccountApplication(Base):
    """A filed Form 1-2 (R5.3) with its outcome; R5.4 later writes the revocation date on it."""

    __tablename__ = "account_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    form: Mapped[dict] = mapped_column(default=dict)
    egov_account: Mapped[str | None] = mapped_column(String(64), index=True)
    business_items: Mapped[list] = mapped_column(default=list)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_on: Mapped[dt.date | None] = mapped_column(Date)
    destroy_not_before: Mapped[dt.date | None] = mapped_column(Date)  # R7.2: revocation + 3 years
    # Legal hold (set or cleared by the agency admin or an audit team, audited): the form is not destroyed.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    hold_reason: Mapped[str | None] = mapped_column(Text)
    # R7.2/R7.4: a records disposition destroyed the form: its content is erased, this row stays as the record.
    destroyed_at: Mapped[dt.datetime | None] = mapped_column()
