"""Records disposition (R7.4): once the head approves the destruction list, destroy the agency's evidence
whose retention has passed (R7.2, R7.3) and that is not under legal hold; each destruction is recorded."""

from __future__ import annotations

from engine import clock, evidence
from engine.calendar import local_date
from engine.scripts import REGISTRY, ServiceCall
from engine.settings import instance_path


def destroy_due_evidence(call: ServiceCall) -> dict:
    """Service task `destroy_due_evidence`: returns how many files were destroyed and which."""
    ctx = call.context
    actor = ctx.actor.username if ctx.actor else "system"
    due = evidence.due_for_destruction(ctx.session, ctx.instance.agency_id, local_date(clock.now()))
    for row in due:
        evidence.destroy(ctx.session, instance_path(), row, actor, ctx.instance.id)
    return {"destroyed": len(due), "evidence_ids": [row.id for row in due]}


REGISTRY.service("destroy_due_evidence", destroy_due_evidence)
