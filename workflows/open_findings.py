"""Reconciliation findings still open, per agency, for the dashboard (R6.1, R6.5).

A finding is open until its review is recorded (`review_decision`). Only the latest run of each agency and
period counts: a re-run replaces the earlier run's findings, which would otherwise be counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from workflows.models_records import ReconciliationFinding, ReconciliationRun


@dataclass
class OpenFindings:
    """One agency's open findings: how many, how many nobody was asked to explain, and which periods."""

    agency_id: int
    total: int
    awaiting_explanation: int  # an explanation task is open
    unassigned: int  # no task: the account belongs to nobody (the agency admin's, in the report)
    first_period: str
    last_period: str


def _latest_runs(agency_ids: list[int]):
    return (select(func.max(ReconciliationRun.id).label("run_id"))
            .where(ReconciliationRun.agency_id.in_(agency_ids))
            .group_by(ReconciliationRun.agency_id, ReconciliationRun.period).subquery())


def open_findings(session: Session, agency_ids: list[int]) -> dict[int, OpenFindings]:
    """Agency id -> its open findings (agencies with none are left out)."""
    if not agency_ids:
        return {}
    latest = _latest_runs(agency_ids)
    finding = ReconciliationFinding
    rows = session.execute(
        select(ReconciliationRun.agency_id, func.count(),
               func.sum(case((finding.explanation_instance_id.is_not(None), 1), else_=0)),
               func.sum(case((finding.explanation_instance_id.is_(None), 1), else_=0)),
               func.min(ReconciliationRun.period), func.max(ReconciliationRun.period))
        .select_from(finding)
        .join(ReconciliationRun, ReconciliationRun.id == finding.run_id)
        .join(latest, latest.c.run_id == ReconciliationRun.id)
        .where(finding.review_decision.is_(None))
        .group_by(ReconciliationRun.agency_id))
    return {agency_id: OpenFindings(agency_id, int(total), int(waiting or 0), int(unassigned or 0), first, last)
            for agency_id, total, waiting, unassigned, first, last in rows}
