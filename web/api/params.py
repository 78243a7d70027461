"""Reading request input strictly: a bad body or parameter is a 400 naming what is wrong."""

from __future__ import annotations

import datetime as dt
import json

from flask import request

from web.api.errors import bad_request

MAX_PER_PAGE = 200


def json_body() -> dict:
    """The JSON object sent (an empty body counts as `{}`)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("請求內容不是有效的 JSON The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("請求內容必須是 JSON 物件 The request body must be a JSON object")
    if "\\u0000" in raw.decode("utf-8", "replace"):  # json.loads refuses raw NULs, not escaped ones
        raise bad_request(NUL_MESSAGE)
    return body


NUL_MESSAGE = "文字不可包含 NUL 字元 Text may not contain NUL (\\0) characters"


def refuse_nul_in_url() -> None:
    """Path and query values with a NUL character are bad input (PostgreSQL text cannot hold them)."""
    if "\x00" in request.path or any("\x00" in v for v in request.args.values()):
        raise bad_request(NUL_MESSAGE)


def optional(body: dict, key: str, kind: type, kind_name: str):
    """body[key] when it is absent, null or of the right type; else 400."""
    value = body.get(key)
    if value is not None and not isinstance(value, kind):
        raise bad_request(f"'{key}' must be {kind_name}", {"fields": {key: f"must be {kind_name}"}})
    return value


MAX_ID = 2**31 - 1  # the databases' INTEGER range; larger numbers are bad input, not a crash


def int_arg(name: str, default: int | None = None, minimum: int = 1,
            maximum: int = MAX_ID) -> int | None:
    """An integer query parameter within bounds."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"'{name}' must be an integer", {"fields": {name: "must be an integer"}}) from None
    if value < minimum or value > maximum:
        raise bad_request(f"'{name}' is out of range", {"fields": {name: "out of range"}})
    return value


def choice_arg(name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    """A query parameter that must be one of the allowed values."""
    value = request.args.get(name) or default
    if value is not None and value not in allowed:
        raise bad_request(f"'{name}' must be one of: {', '.join(allowed)}",
                          {"fields": {name: f"one of {', '.join(allowed)}"}})
    return value


def text_arg(name: str) -> str | None:
    """An optional text query parameter (empty counts as absent)."""
    return (request.args.get(name) or "").strip() or None


def date_arg(name: str) -> dt.date | None:
    """An optional ISO date query parameter (YYYY-MM-DD)."""
    value = text_arg(name)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise bad_request(f"'{name}' must be a date YYYY-MM-DD", {"fields": {name: "a date YYYY-MM-DD"}}) from None


def paging() -> tuple[int, int]:
    """`page` (from 1) and `per_page` (1-200, default 50)."""
    return int_arg("page", 1), int_arg("per_page", 50, maximum=MAX_PER_PAGE)
