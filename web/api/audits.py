"""Audit follow-up over the API: the corrective-action items of master-agency audits (追蹤項目, R8.2)."""

from __future__ import annotations

from flask import Response, jsonify, request

from engine import clock
from engine.assignment import visible_agencies
from engine.calendar import local_date
from web.api import bp, openapi
from web.api.auth import api_user, require_role
from web.api.errors import ApiError
from web.api.params import choice_arg, paging
from web.extensions import reading, reads_in_request_session
from workflows.corrective_actions import FOLLOWERS, STATUSES, list_items


@bp.get("/corrective-actions")
@reads_in_request_session
def corrective_actions() -> Response:
    """Corrective-action items (R8.2): `agency=`, `status=open|closed|all` (default open), `page=`; overdue marked."""
    status = choice_arg("status", STATUSES, "open")
    page, per_page = paging()
    code = (request.args.get("agency") or "").strip().upper()
    with reading() as session:
        user = api_user(session)
        require_role(session, user, *FOLLOWERS)
        agencies = visible_agencies(session, user)
        if code:
            agencies = [a for a in agencies if a.code == code]
            if not agencies:
                raise ApiError(404, "not_found", f"找不到機關 Agency '{code}' not found")
        items, total = list_items(session, [a.id for a in agencies], status, local_date(clock.now()),
                                  (page - 1) * per_page, per_page)
    return jsonify({"items": items, "total": total})


def _paths() -> dict:
    o = openapi
    return {"/corrective-actions": {"get": o._op(
        "Corrective-action items of master-agency audits (R8.2), overdue marked", "200", {"type": "object"},
        errors=("403", "404"), params=[o._query("agency", o.STR), o._query("status", o.STR, "open|closed|all"),
                                       o._query("page", o.INT), o._query("per_page", o.INT)])}}


openapi.EXTRA_PATHS.append(_paths)
