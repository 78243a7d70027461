"""Jinja filters for the pages: local times (with a 民國 option), bilingual status and role labels."""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, g, has_request_context

from engine import clock
from web.i18n import bi_text, roc_calendar
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
ROC_OFFSET = 1911  # 民國 1 = 1912
ISO_DATE = "%Y-%m-%d"


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


def roc_format(when: dt.datetime | dt.date, fmt: str) -> str:
    """strftime with the year in the 民國 calendar: `%Y-%m-%d` becomes 民國115年11月29日, a lone %Y 115."""
    year = when.year - ROC_OFFSET
    fmt = fmt.replace(ISO_DATE, f"民國{year}年%m月%d日").replace("%Y", str(year))
    return when.strftime(fmt)


def localtime(value, fmt: str = "%Y-%m-%d %H:%M", roc: bool | None = None) -> str:
    """Format a time in the display zone, e.g. 2026-11-29 14:03 (or 民國115年11月29日 14:03 with `roc`,
    which defaults to the user's calendar choice); empty for none, as-is when unparseable."""
    if value in (None, ""):
        return ""
    when = to_datetime(value)
    if when is None:
        return str(value)
    when = when.astimezone(display_zone())
    if roc is None:
        roc = roc_calendar()
    return roc_format(when, fmt) if roc else when.strftime(fmt)


def localdate(value, roc: bool | None = None) -> str:
    """The date part only, in the display zone."""
    return localtime(value, ISO_DATE, roc)


def status_label(value) -> str:
    """Bilingual label of an instance or task status, e.g. 執行中 Running."""
    key = getattr(value, "value", value)
    zh, en = STATUS_LABELS.get(str(key), (str(key), ""))
    return bi_text(zh, en).strip()


def role_label(value) -> str:
    """Bilingual name of a role id, e.g. 使用機關管理者 Agency administrator."""
    if not value:
        return ""
    names = ROLES.get(str(value))
    return bi_text(*names) if names else str(value)


def request_now() -> dt.datetime:
    """The engine clock's time, read once per request (a simulated clock is a database read)."""
    if not has_request_context():
        return clock.now()
    if "webir_now" not in g:
        g.webir_now = clock.now()
    return g.webir_now


def is_late(value) -> bool:
    """Whether a due time has passed on the engine's clock (the simulated one in demos and tests)."""
    when = to_datetime(value)
    return when is not None and when < request_now()


def init_app(app: Flask) -> None:
    """Register the filters (and the is_late test) on the app's Jinja environment."""
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(localdate, "localdate")
    app.add_template_filter(status_label, "status_label")
    app.add_template_filter(role_label, "role_label")
    app.add_template_test(is_late, "late")
