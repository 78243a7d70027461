"""A period of a periodic obligation for one agency: opened at most once, as its own process instance."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class ObligationPeriod(Base):
    """(obligation, agency, period label) is the identity: a unique constraint makes opening idempotent."""

    __tablename__ = "obligation_period"
    __table_args__ = (UniqueConstraint("obligation_id", "agency_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[str] = mapped_column(String(80))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    label: Mapped[str] = mapped_column(String(20))
    opens_at: Mapped[dt.datetime] = mapped_column()
    due_at: Mapped[dt.datetime] = mapped_column(index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    opened_at: Mapped[dt.datetime] = mapped_column()
    escalated_at: Mapped[dt.datetime | None] = mapped_column()
    # When the agency's part was done although the instance runs on (e.g. submitted, awaiting the master's
    # acknowledgement, R8.1.6): the period counts as done from then; cleared again if the work is returned.
    fulfilled_at: Mapped[dt.datetime | None] = mapped_column()
    escalation_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
