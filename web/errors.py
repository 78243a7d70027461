"""Error pages: bilingual HTML for the pages, JSON errors under /api/, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("請求有誤", "Bad request", "bad_request"),
    401: ("請先登入", "Please log in", "unauthorized"),
    403: ("您沒有權限執行此操作", "You are not allowed to do this", "forbidden"),
    404: ("找不到此頁面或資料", "Page or record not found", "not_found"),
    405: ("不支援此操作方式", "Method not allowed", "method_not_allowed"),
    409: ("此項目狀態已變更", "Conflict: the item has changed", "conflict"),
    413: ("上傳的資料過大", "Request too large", "too_large"),
    422: ("資料驗證失敗", "Validation failed", "invalid"),
    500: ("系統發生錯誤，請稍後再試", "Something went wrong; please try again later", "server_error"),
}


def error_response(status: int, detail: str | None = None):
    """The error as JSON under /api/, else as the bilingual error page."""
    zh, en, code = MESSAGES.get(status, ("發生錯誤", "Error", "error"))
    if request.path.startswith("/api/"):
        return jsonify({"error": {"code": code, "message": detail or f"{zh} {en}"}}), status
    return render_template("errors/error.html", status=status, zh=zh, en=en, detail=detail), status


def _handle_http(exc: HTTPException):
    """Known HTTP errors (403, 404, 405, 413 ...) with their own status."""
    return error_response(exc.code or 500)


def _handle_unexpected(exc: Exception):
    """Anything unhandled: log it, answer a plain 500."""
    original = getattr(exc, "original_exception", None) if isinstance(exc, InternalServerError) else exc
    if original is not None:
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
    return error_response(500)


def init_app(app: Flask) -> None:
    """Register the handlers for the statuses pages can fail with."""
    for status in (400, 403, 404, 405, 413):
        app.register_error_handler(status, _handle_http)
    app.register_error_handler(500, _handle_unexpected)
