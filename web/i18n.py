"""Language and calendar preferences: zh-TW first by default, English first on request, 民國 dates on request.

Every page shows both languages (the regulation's users read Chinese; English helps everyone else), so there is
no gettext catalogue to keep in step: each label is a (Chinese, English) pair written where it is used, and the
locale decides which comes first and which is the small secondary text. Flask-Babel selects the locale (`?lang=`
query argument, then the `lang` cookie, then zh_Hant_TW) and formats numbers and percentages for it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, g, has_request_context, request
from flask_babel import format_decimal, format_percent
from markupsafe import Markup

LANGS = ("zh", "en")
LOCALES = {"zh": "zh_Hant_TW", "en": "en"}
HTML_LANGS = {"zh": "zh-Hant-TW", "en": "en"}
CALENDARS = ("ad", "roc")
COOKIE_AGE = 365 * 24 * 3600


def _preference(name: str, allowed: tuple[str, ...]) -> str:
    """A query argument, else the cookie, else the first allowed value (outside a request too); read once per
    request (a page asks hundreds of times)."""
    if not has_request_context():
        return allowed[0]
    cache = g.setdefault("webir_preferences", {})
    if name not in cache:
        found = [v for v in (request.args.get(name), request.cookies.get(name)) if v in allowed]
        cache[name] = found[0] if found else allowed[0]
    return cache[name]


def lang() -> str:
    """`zh` (default) or `en`: which language comes first."""
    return _preference("lang", LANGS)


def roc_calendar() -> bool:
    """Whether dates are shown in the 民國 (Republic of China) calendar."""
    return _preference("cal", CALENDARS) == "roc"


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    return LOCALES[lang()]


def bi(zh: str, en: str) -> Markup:
    """A bilingual label: the page language first, the other as small secondary text (with its lang)."""
    if lang() == "en":
        return Markup('{} <small class="alt" lang="zh-Hant-TW">{}</small>').format(en, zh)
    return Markup('{} <small class="alt" lang="en">{}</small>').format(zh, en)


def bi_text(zh: str, en: str) -> str:
    """A bilingual label as plain text, page language first (for titles, options and attributes)."""
    return f"{en} {zh}" if lang() == "en" else f"{zh} {en}"


def switch_url(**changes: str) -> str:
    """The current page's address with some query arguments changed (for the language and calendar links)."""
    args = {k: v for k, v in request.args.items() if k not in changes}
    args.update(changes)
    return request.path + ("?" + urlencode(args) if args else "")


def number(value) -> str:
    """A count formatted for the locale (thousands separators)."""
    return format_decimal(value or 0)


def percent(value) -> str:
    """A ratio (0..1) as a percentage for the locale; empty when unknown."""
    return "" if value is None else format_percent(value)


def _remember(response):
    """A `?lang=` or `?cal=` choice sticks: keep it in a cookie."""
    for name, allowed in (("lang", LANGS), ("cal", CALENDARS)):
        value = request.args.get(name)
        if value in allowed:
            response.set_cookie(name, value, max_age=COOKIE_AGE, samesite="Lax", httponly=True,
                                secure=request.is_secure)
    return response


def init_app(app: Flask) -> None:
    """Template helpers and the cookie hook."""
    app.add_template_global(bi)
    app.add_template_global(bi_text)
    app.add_template_global(switch_url)
    app.add_template_global(lambda: HTML_LANGS[lang()], "html_lang")
    app.add_template_global(lang, "page_lang")
    app.add_template_global(roc_calendar)
    app.add_template_filter(number)
    app.add_template_filter(percent)
    app.after_request(_remember)
