"""Flask application factory: the staff inbox, process pages and the REST API over the engine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

import workflows  # noqa: F401  (registers the regulation's roles and service tasks with the engine)
from engine import simulated_clock
from engine.db import Database
from engine.settings import instance_path
from web.extensions import babel, csrf, end_request_session, login_manager
from web.i18n import select_locale


def database_url(folder: Path) -> str:
    return os.environ.get("WEBIR_DATABASE_URL") or f"sqlite:///{folder / 'webir.sqlite3'}"


def secret_key(folder: Path) -> str:
    """WEBIR_SECRET_KEY, else a key generated once into the instance folder."""
    if os.environ.get("WEBIR_SECRET_KEY"):
        return os.environ["WEBIR_SECRET_KEY"]
    key_file = folder / "secret_key"
    if not key_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class DatabaseId(IntegerConverter):
    """`<int:...>` in every route: ids beyond the database's integer range are simply not found (404)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: dict | None = None) -> Flask:
    """Build the app; `config` overrides settings (tests pass DATABASE_URL and a Database)."""
    folder = instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(folder))
    app.config.update(
        DATABASE_URL=database_url(folder), SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=20 * 1024 * 1024, WTF_CSRF_TIME_LIMIT=None, BABEL_DEFAULT_LOCALE="zh_Hant_TW",
        BABEL_DEFAULT_TIMEZONE=os.environ.get("WEBIR_TIMEZONE", "Asia/Taipei"), JSON_SORT_KEYS=False,
    )
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(folder)
    app.extensions["webir_db"] = app.config.get("DATABASE") or Database(app.config["DATABASE_URL"])
    if not app.config.get("DATABASE"):  # tests install their own clock
        simulated_clock.configure(app.extensions["webir_db"])
    app.json.ensure_ascii = False
    app.url_map.converters["int"] = DatabaseId  # before any route is added
    app.teardown_appcontext(end_request_session)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)  # zh_Hant_TW unless ?lang=en / lang cookie
    _register(app)
    return app


def _register(app: Flask) -> None:
    from web import (
        api,
        auth,
        dashboard,
        errors,
        filters,
        i18n,
        inbox,
        instances,
        modeler,
        pages,
        printable,
        register_page,
        security,
    )
    from web.audits import bp as audits_bp
    from web.jobs import bp as jobs_bp

    i18n.init_app(app)
    filters.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(instances.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(audits_bp)
    app.register_blueprint(printable.bp)
    app.register_blueprint(modeler.bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(register_page.bp)
