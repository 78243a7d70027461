"""Lenient paging for HTML lists: a bad `?page=` shows page 1 instead of an error."""

from __future__ import annotations

from flask import request

MAX_PAGE = 10_000


def page_arg() -> int:
    """The requested page number, clamped to 1..MAX_PAGE."""
    value = request.args.get("page", "1")
    return max(1, min(int(value), MAX_PAGE)) if value.isdigit() else 1
