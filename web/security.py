"""Security headers on every response, and login throttling from the audit log (works across workers)."""

from __future__ import annotations

import datetime as dt

from flask import Flask, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.models import AuditEvent

MAX_FAILED_LOGINS = 5
FAILED_LOGIN_WINDOW = dt.timedelta(minutes=15)
# bpmn-js sets inline styles on the SVG it draws, hence 'unsafe-inline' for styles only; no inline scripts.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
                           "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def login_throttled(session: Session, username: str) -> bool:
    """Too many failed logins for this name lately (a password guesser): refuse even a right password."""
    since = clock.now() - FAILED_LOGIN_WINDOW
    last_success = session.scalar(select(func.max(AuditEvent.id)).where(
        AuditEvent.action == "login", AuditEvent.actor == username, AuditEvent.at >= since)) or 0
    failures = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "login_failed", AuditEvent.actor == username, AuditEvent.at >= since,
        AuditEvent.id > last_success))
    return failures >= MAX_FAILED_LOGINS


def init_app(app: Flask) -> None:
    """Add the headers; mark the session cookie Secure when served over HTTPS (behind TLS)."""

    @app.after_request
    def _headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    if app.config.get("PREFERRED_URL_SCHEME") == "https":
        app.config["SESSION_COOKIE_SECURE"] = True
