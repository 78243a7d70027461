"""REST API v1 (`/api/v1`): JSON over the engine, bearer-token or session auth, one error format."""

from __future__ import annotations

from flask import Blueprint

from web.api.errors import init_blueprint
from web.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Flask-WTF's automatic check is off here: session-authenticated writes are checked in web.api.auth instead,
# bearer-token calls need no CSRF token.
csrf.exempt(bp)
init_blueprint(bp)

from web.api import (  # noqa: E402,F401  (register the routes)
    audits,
    auth,
    calendar,
    dispositions,
    drafts,
    evidence,
    instances,
    jobs,
    messages,
    meta,
    migration,
    modeler,
    models,
    openapi,
    records,
    tasks,
    test_runs,
)
