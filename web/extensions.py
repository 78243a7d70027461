"""Flask extensions, created unbound and initialised in create_app; the request's database session."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import current_app, g
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
    """The request's reading session: the caller's user and token, the rows an answer shows. One pooled connection
    for the whole request (checked out, and pinged, once), and one identity map, so a row read by the
    authentication is not read again by the handler. Writes go through the engine's own transactions; an object
    read here before such a write is re-read with `populate_existing` when the answer must show it after."""
    session = g.get("webir_session")
    if session is None:
        g.webir_connection = get_db().engine.connect()
        session = g.webir_session = get_db().sessions(bind=g.webir_connection)
    return session


@contextlib.contextmanager
def reading() -> Iterator[Session]:
    """`with reading() as session:` the request's session (left open for the rest of the request)."""
    yield request_session()


def end_request_session(_exc: BaseException | None = None) -> None:
    """Teardown: end the request's read transaction and give its connection back to the pool."""
    session, connection = g.pop("webir_session", None), g.pop("webir_connection", None)
    if session is not None:
        session.close()
    if connection is not None:
        connection.close()
