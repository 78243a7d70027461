"""Flask extensions, created unbound and initialised in create_app."""

from flask import current_app
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from engine.db import Database

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "請先登入 Please log in"


def get_db() -> Database:
    """The app's Database (engine + sessions)."""
    return current_app.extensions["webir_db"]
