"""The compliance calendar over the API: obligation periods, and moving the simulated clock."""

from __future__ import annotations

from flask import Response, jsonify

from engine import calendar, clock, obligations, timekeeping
from engine.assignment import visible_agencies
from engine.simulated_clock import ClockMovedBackwards, SimulatedClock
from web.api import bp
from web.api.auth import api_user, require_role
from web.api.errors import ApiError, bad_request
from web.api.params import int_arg, json_body, text_arg
from web.extensions import get_db, reading, reads_in_request_session


@bp.get("/obligations")
@reads_in_request_session
def obligations_list() -> Response:
    """Obligation periods of the agencies the caller may see (`?agency=` must be one of them, else 404)."""
    code, year = text_arg("agency"), int_arg("year", None, minimum=1900, maximum=9999)
    with reading() as session:
        agencies = visible_agencies(session, api_user(session))
        if code:
            agencies = [a for a in agencies if a.code == code.upper()]
            if not agencies:
                raise ApiError(404, "not_found", f"找不到機關 Agency '{code}' not found")
        rows = obligations.period_statuses(session, agencies, year)
        return jsonify([obligations.period_dict(r) for r in rows])


@bp.post("/clock")
def clock_move() -> Response:
    """Move the simulated clock (`{"advance": "P1M"}` or `{"set": ISO}`), firing all that falls due on the way."""
    body = json_body()
    db = get_db()
    with db.sessions() as session:
        caller = api_user(session)
        require_role(session, caller, "master_admin")
        username = caller.username
    if not isinstance(clock.current(), SimulatedClock):
        raise ApiError(409, "clock_not_simulated",
                       "只有模擬時鐘可以調整 Only the simulated clock (WEBIR_CLOCK=simulated) can be moved")
    if ("advance" in body) == ("set" in body):
        raise bad_request("請提供 advance 或 set 其中之一 "
                          "Send exactly one of 'advance' (ISO duration) or 'set' (ISO time)")
    try:
        target = (calendar.add_iso_duration(clock.now(), body["advance"]) if "advance" in body
                  else calendar.parse_moment(body["set"]))
        done = timekeeping.advance_to(db, target, actor=username)
    except ClockMovedBackwards as exc:
        raise bad_request(str(exc)) from None
    except ValueError as exc:
        raise bad_request(str(exc), {"fields": {"advance" if "advance" in body else "set": str(exc)}}) from None
    return jsonify({"now": clock.now().astimezone(clock.zone()).isoformat(), "timers_fired": done.timers_fired,
                    "periods_opened": done.periods_opened, "escalations": done.escalations})
