"""Who am I, and the answer for any other path under /api/v1 (404, or 405 with the allowed methods)."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from web.api import bp
from web.api.auth import api_user
from web.api.errors import ApiError
from web.extensions import reading, reads_in_request_session
from workflows.org import roles_of

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@bp.get("/me")
@reads_in_request_session
def me() -> Response:
    """The calling user: username, agency code, current roles."""
    with reading() as session:
        user = api_user(session)
        return jsonify({"username": user.username, "agency": user.agency.code,
                        "roles": roles_of(session, user), "display_name": user.display_name,
                        "is_vendor": bool(user.is_vendor)})


def _allowed_methods() -> list[str]:
    """Methods some real endpoint accepts on this path."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in METHODS:
        try:
            endpoint, _ = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != "api.unknown":
            allowed.append(method)
    return allowed


@bp.route("/", endpoint="unknown", methods=METHODS, defaults={"rest": ""}, strict_slashes=False)
@bp.route("/<path:rest>", endpoint="unknown", methods=METHODS)
def unknown(rest: str) -> Response:
    """No such endpoint: 405 when the path exists for other methods, else 404."""
    allowed = _allowed_methods()
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    raise ApiError(404, "not_found", f"沒有此 API No API endpoint {request.method} {request.path}")
