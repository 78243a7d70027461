"""Flask extensions, created unbound and initialised in create_app; the request's database session."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import current_app, g, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Session

from engine.db import Database

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "請先登入 Please log in"


def get_db() -> Database:
    """The app's Database (engine + sessions)."""
    return current_app.extensions["webir_db"]


def request_session() -> Session:
    """The request's READING session: the caller's user and token, the rows an answer shows, in one identity map,
    so a row read by the authentication is not read again by the handler. Writes go through the engine's own
    transactions (or get_db().transaction()); an object read here before such a write is re-read with
    `populate_existing` when the answer must show it after. Its connection is held from its first statement until
    end_reads() or the end of the request."""
    session = g.get("webir_session")
    if session is None:
        session = g.webir_session = get_db().sessions()
    return session


def end_reads() -> None:
    """Give the request session's connection back to the pool (the rows it read stay in its identity map)."""
    session = g.get("webir_session")
    if session is not None and session.in_transaction():
        session.commit()


def reads_in_request_session(view):
    """Mark a read-only view whose reads all go through request_session(): the connection the authentication
    took then serves the whole request (one checkout). Other views get it back right after the authentication,
    so no request ever holds two pooled connections at once (many threads doing that could exhaust the pool,
    each waiting for a second connection)."""
    view.reads_in_request_session = True
    return view


def keeps_request_connection() -> bool:
    """Whether this request's view reads through request_session() only (see reads_in_request_session)."""
    view = current_app.view_functions.get(request.endpoint) if request else None
    return bool(getattr(view, "reads_in_request_session", False))


@contextlib.contextmanager
def reading() -> Iterator[Session]:
    """`with reading() as session:` the request's session (left open for the rest of the request)."""
    yield request_session()


def end_request_session(_exc: BaseException | None = None) -> None:
    """Teardown: end the request session's read transaction and give its connection back to the pool."""
    session = g.pop("webir_session", None)
    if session is not None:
        session.close()
