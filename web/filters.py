"""Jinja filters for the pages: local times, bilingual status and role labels."""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask

from workflows.roles import ROLES

STATUS_LABELS = {
    "running": ("執行中", "Running"),
    "waiting": ("等待中", "Waiting"),
    "suspended": ("已暫停", "Suspended"),
    "completed": ("已完成", "Completed"),
    "cancelled": ("已取消", "Cancelled"),
    "error": ("錯誤", "Error"),
    "ready": ("待處理", "Ready"),
}


def display_zone() -> ZoneInfo:
    """The display time zone: WEBIR_TIMEZONE, else Asia/Taipei."""
    try:
        return ZoneInfo(os.environ.get("WEBIR_TIMEZONE") or "Asia/Taipei")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Taipei")


def to_datetime(value) -> dt.datetime | None:
    """An aware datetime from a datetime or ISO string (naive values are taken as UTC)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def localtime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a time in the display zone, e.g. 2026-11-29 14:03; empty for none, as-is when unparseable."""
    if value in (None, ""):
        return ""
    when = to_datetime(value)
    if when is None:
        return str(value)
    return when.astimezone(display_zone()).strftime(fmt)


def status_label(value) -> str:
    """Bilingual label of an instance or task status, e.g. 執行中 Running."""
    key = getattr(value, "value", value)
    zh, en = STATUS_LABELS.get(str(key), (str(key), ""))
    return f"{zh} {en}".strip()


def role_label(value) -> str:
    """Bilingual name of a role id, e.g. 使用機關管理者 Agency administrator."""
    if not value:
        return ""
    names = ROLES.get(str(value))
    return f"{names[0]} {names[1]}" if names else str(value)


def is_late(value) -> bool:
    """Whether a due time has passed."""
    when = to_datetime(value)
    return when is not None and when < dt.datetime.now(dt.UTC)


def init_app(app: Flask) -> None:
    """Register the filters (and the is_late test) on the app's Jinja environment."""
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(status_label, "status_label")
    app.add_template_filter(role_label, "role_label")
    app.add_template_test(is_late, "late")
