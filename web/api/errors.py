"""The API's one error format: `{"error": {"code", "message", "details"}}`, for every failure."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, default_exceptions

from engine.assignment import NotAllowed
from engine.bundle import BundleError
from engine.db import is_busy_database, is_lost_connection
from engine.locking import InstanceNotFound
from engine.runtime import FormInvalid, NotFound, TaskNotReady
from engine.task_files import UploadTooLarge
from workflows.org import OrgError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_data",
    429: "too_many_requests",
}
HTTP_MESSAGES = {
    401: "需要登入或 API 權杖 Authentication required (Bearer token or session)",
    404: "找不到資源 Not found",
    405: "不支援此方法 Method not allowed",
    413: "上傳內容過大 Request too large",
}


class ApiError(Exception):
    """An error answered as-is: status, machine code, message for people, optional details."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}


def error_response(status: int, code: str, message: str, details: dict | None = None) -> Response:
    """A JSON error response in the API's format."""
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="webir"'
    return response


def bad_request(message: str, details: dict | None = None) -> ApiError:
    return ApiError(400, "bad_request", message, details)


def _http(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status >= 500:
        return _internal(exc)
    message = HTTP_MESSAGES.get(status) or exc.description or exc.name
    response = error_response(status, HTTP_CODES.get(status, "http_error"), message)
    if status == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _internal(exc: BaseException) -> Response:
    log.error("API request failed", exc_info=exc)
    return error_response(500, "internal_error", "伺服器內部錯誤 Internal server error; it has been logged")


def _domain(exc: BaseException) -> Response | None:
    """Engine and organisation exceptions, by their meaning."""
    simple = ((NotFound | InstanceNotFound, 404, "not_found"), (NotAllowed, 403, "forbidden"),
              (TaskNotReady, 409, "task_not_ready"), (OrgError, 400, "bad_request"))
    for kind, status, code in simple:
        if isinstance(exc, kind):
            return error_response(status, code, str(exc))
    if isinstance(exc, UploadTooLarge):
        return error_response(413, "too_large", str(exc), {"fields": {exc.field: str(exc)}, "max_bytes": exc.limit})
    if isinstance(exc, FormInvalid):
        return error_response(422, "invalid_data", "表單資料有誤 The form data is invalid",
                              {"fields": dict(exc.fields)})
    if isinstance(exc, BundleError):
        problems = [p.as_dict() for p in exc.problems]
        return error_response(422, "invalid_model", str(exc), {"problems": problems})
    if isinstance(exc, DataError):  # a value the database cannot store (too long, NUL byte...): bad input
        return error_response(400, "bad_request", "資料格式不被接受 A value cannot be stored: " +
                              str(getattr(exc, "orig", exc)).splitlines()[0][:200])
    if is_busy_database(exc):
        response = error_response(503, "database_busy", "資料庫忙碌中，請稍後重試 The database is busy with another "
                                  "writer; nothing was changed, please retry")
        response.headers["Retry-After"] = "2"
        return response
    if is_lost_connection(exc):
        response = error_response(503, "database_unavailable", "資料庫連線中斷，請稍後重試 The connection to the "
                                  "database was lost; the request was not completed, please retry")
        response.headers["Retry-After"] = "1"
        return response
    return None


def handle(exc: BaseException) -> Response:
    """Map any exception raised while serving the API to a JSON error (never a traceback)."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details)
    if isinstance(exc, HTTPException):
        return _http(exc)
    return _domain(exc) or _internal(exc)


def init_blueprint(bp: Blueprint) -> None:
    """Register the handlers per HTTP code too, so an app-wide HTML handler never answers for the API."""
    for status in default_exceptions:
        bp.register_error_handler(status, handle)
    bp.register_error_handler(Exception, handle)
