"""Delegation consent (R4.1, R5.2): the delegating agency consents to, or refuses, a commissioned agency's WebIR use."""

from __future__ import annotations

import datetime as dt

from engine import audit, clock
from engine.models import Agency
from engine.scripts import REGISTRY, ServiceCall
from workflows.models_accounts import DelegationConsent

PROCESS_ID = "delegation_consent"
CONSENTED = "consented"


def _date(value) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def record_delegation_consent(call: ServiceCall) -> dict:
    """Service task `record_delegation_consent`: keep who consented (or refused), when, and to which scope."""
    ctx, data = call.context, call.data
    agency = ctx.session.get(Agency, ctx.instance.agency_id)
    decision = CONSENTED if data.get("consent_decision") == "consent" else "refused"
    requested = list(data.get("business_items") or [])
    chosen = list(data.get("consented_items") or []) or requested
    scope = [i for i in chosen if i in requested] if decision == CONSENTED else []
    consent = DelegationConsent(
        instance_id=ctx.instance.id, commissioned_agency_id=agency.id, delegating_agency_id=agency.delegated_by_id,
        decision=decision, scope=scope, purpose=data.get("purpose"), reference=data.get("consent_reference"),
        valid_until=_date(data.get("consent_valid_until")), reason=data.get("consent_comment"),
        decided_by_id=ctx.actor.id if ctx.actor else None, decided_by=ctx.actor.username if ctx.actor else None,
        decided_at=clock.now())
    ctx.session.add(consent)
    ctx.session.flush()
    audit.record(ctx.session, "delegation_consent_recorded", consent.decided_by, ctx.instance.id,
                 consent_id=consent.id, decision=decision, scope=scope, commissioned_agency=agency.code,
                 delegating_agency=agency.delegated_by.code if agency.delegated_by else None, clause="R4.1")
    return {"consent_id": consent.id, "decision": decision, "scope": scope}


REGISTRY.service("record_delegation_consent", record_delegation_consent)
