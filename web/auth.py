"""Login and logout (session cookie, CSRF-protected form)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from engine import audit
from web.current_user import web_user
from web.extensions import get_db
from web.security import login_throttled
from workflows.org import authenticate

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only local paths, so the login form cannot redirect elsewhere."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("inbox.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        with get_db().transaction() as session:
            if login_throttled(session, username[:64]):
                audit.record(session, "login_throttled", username[:64])
                flash("登入失敗次數過多，請 15 分鐘後再試 Too many failed logins: try again in 15 minutes", "error")
                return render_template("auth/login.html", username=username), 429
            user = authenticate(session, username, request.form.get("password", ""))
            audit.record(session, "login" if user else "login_failed", username[:64])
            current = web_user(session, user) if user else None
        if current:
            login_user(current)
            return redirect(_safe_next(request.args.get("next")))
        flash("帳號或密碼錯誤 Wrong username or password", "error")
        return render_template("auth/login.html", username=username), 401
    return render_template("auth/login.html", username="")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
