"""Placeholder pages (regulation) until their own issues make them real."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("pages", __name__)

_TITLES = {
    "regulation": ("法規", "Regulation"),
}


def _coming_soon(key: str) -> str:
    """The shared "coming soon" page."""
    zh, en = _TITLES[key]
    return render_template("pages/coming_soon.html", zh=zh, en=en)


@bp.get("/regulation")
@login_required
def regulation():
    return _coming_soon("regulation")
