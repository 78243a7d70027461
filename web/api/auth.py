"""Who is calling: a bearer token, else the browser session (whose writes must carry X-CSRFToken)."""

from __future__ import annotations

from flask import current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import Session

from engine.models import User
from web.api import bp
from web.api.errors import ApiError
from web.api.params import refuse_nul_in_url
from web.current_user import share_loaded_roles
from web.extensions import csrf, end_reads, keeps_request_connection, request_session
from workflows.org import roles_of, user_for_token

PUBLIC_ENDPOINTS = {"api.openapi", "api.unknown"}


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def _bearer_user_id(header: str) -> int:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization 標頭格式錯誤 Use 'Authorization: Bearer <token>'")
    # In the request's session, and held in g: the identity map keeps the row (and its agency) for api_user().
    user = user_for_token(request_session(), token.strip())
    if user is None:
        raise _unauthorized("權杖無效或已撤銷 The token is invalid or revoked")
    g.api_user_row = user
    return user.id


def _check_csrf() -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        csrf.protect()
    except CSRFError as exc:
        raise ApiError(400, "csrf_failed", "缺少或無效的 CSRF 權杖 Send the page's csrf-token in the "
                       f"X-CSRFToken header ({exc.description})") from None


@bp.before_request
def authenticate() -> None:
    """Set g.api_user_id from the bearer token or the session; 401 when neither is there."""
    refuse_nul_in_url()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization")
    if header is not None:
        g.api_user_id = _bearer_user_id(header)
    elif not current_user.is_authenticated:
        raise _unauthorized("需要登入或 API 權杖 Send 'Authorization: Bearer <token>' or log in")
    else:
        _check_csrf()
        g.api_user_id = int(current_user.id)
    if not keeps_request_connection():
        end_reads()


def api_user(session: Session) -> User:
    """The calling user, loaded in this session (no statement in the request's session: authentication loaded
    them there)."""
    user = session.get(User, g.api_user_id)
    if user is None or not user.is_active:
        raise _unauthorized("帳號已停用 The account is no longer active")
    share_loaded_roles(session, user)  # the task lists' visibility rule need not read them again
    return user


def require_role(session: Session, user: User, *roles: str) -> None:
    """403 unless the user holds one of the roles."""
    if not set(roles) & set(roles_of(session, user)):
        raise ApiError(403, "forbidden", f"需要角色 Needs one of the roles: {', '.join(roles)}")
