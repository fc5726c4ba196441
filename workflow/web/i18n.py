"""Languages, Beijing time and amounts as Chinese and English readers expect them."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from flask import has_request_context, request
from flask_babel import get_locale

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANGUAGE_COOKIE = "fundflow_lang"
TIMEZONE = "Asia/Shanghai"
HTML_LANG = {"zh": "zh-CN", "en": "en"}


def select_locale() -> str:
    """The language chosen on a page (remembered in a cookie), else the browser's, else Chinese."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def select_timezone() -> str:
    return TIMEZONE


def language() -> str:
    """The reader's language, "zh" or "en" (asked hundreds of times a page: kept for the request)."""
    if not has_request_context():
        return str(get_locale() or DEFAULT_LANGUAGE).split("_")[0]
    chosen = request.environ.get("fundflow.language")
    if chosen is None:
        chosen = request.environ["fundflow.language"] = str(get_locale() or DEFAULT_LANGUAGE).split("_")[0]
    return chosen


def is_zh() -> bool:
    return language() == "zh"


def html_lang() -> str:
    return HTML_LANG.get(language(), "en")


def pick(zh: str | None, en: str | None) -> str:
    """The Chinese or English of a pair, whichever the reader reads (the other when one is missing)."""
    return (zh or en or "") if is_zh() else (en or zh or "")


def retired_mark(text: str, retired: bool) -> str:
    """`text`, marked as retired when it is: 中意联合设计中心（已停用）."""
    from flask_babel import gettext

    return gettext("%(name)s (retired)", name=text) if retired else text


def registry_name(row) -> str:
    """A registry row's name (institution, body, base) in the reader's language, marked when it is retired."""
    get = row.get if isinstance(row, Mapping) else lambda key: getattr(row, key)
    return retired_mark(pick(get("name"), get("name_en")), get("retired"))


def offered(rows, keep: int | None = None) -> list:
    """The registry rows a form offers: those in use, and the retired one the record already names."""
    return [row for row in rows if not row.retired or row.id == keep]


def _titles(row) -> tuple[str | None, str | None]:
    if isinstance(row, Mapping):
        return row.get("title"), row.get("title_en")
    return getattr(row, "title", None), getattr(row, "title_en", None)


def display_title(row) -> str:
    """A record's title (an application, a call, a ranking row) in the reader's language.

    English readers get `title_en`, and the Chinese `title` where it has none.
    """
    return pick(*_titles(row))


def other_title(row) -> str:
    """The title in the other language, for a line under the heading; empty when there is none to add."""
    zh, en = _titles(row)
    if not (zh and en) or zh == en:
        return ""
    return en if is_zh() else zh


def label(table: dict, code: str | None) -> str:
    """A code's display label from a labels.py table of (中文, English) pairs."""
    if code is None:
        return ""
    pair = table.get(code)
    return pick(*pair) if pair else code


def money(yuan: int | None) -> str:
    """Chinese readers see 万元 with two decimals, others whole yuan.

    Both locales group by thousands with "," and mark decimals with ".", so
    plain formatting gives what Babel would, at a fraction of its cost (a
    statistics page shows a hundred and fifty amounts).
    """
    if yuan is None:
        return "—"
    if is_zh():
        return f"{Decimal(yuan) / 10000:,.2f} 万元"
    return f"¥{yuan:,}"


BEIJING = dt.timezone(dt.timedelta(hours=8))  # China keeps no daylight saving time
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def date(value: dt.date | dt.datetime | None) -> str:
    """2026年12月1日 / 1 Dec 2026, a moment taken as its day in Beijing.

    Babel's long Chinese and "d MMM y" English patterns, written out: a list page
    formats dozens of dates, and Babel's formatter costs more than the row around it.
    """
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _beijing(value).date()
    if is_zh():
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {MONTHS_EN[value.month - 1]} {value.year}"


def datetime(value: dt.datetime | None) -> str:
    """In Beijing time: 2026年12月1日 17:05 / 1 Dec 2026, 17:05."""
    if value is None:
        return ""
    local = _beijing(value)
    return f"{date(local)} {local:%H:%M}" if is_zh() else f"{date(local)}, {local:%H:%M}"


def _beijing(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:  # fundflow stores UTC
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(BEIJING)


def country_name(code: str | None) -> str:
    """A partner country in the reader's language (Babel's names; the ISO code when it has none)."""
    if not code:
        return ""
    return get_locale().territories.get(code, code)


def state_label(kind: str, state: str | None, version: int | None = None) -> str:
    """A state's label from its workflow definition in states/, in the reader's language."""
    from ..services.workflows import state_label as labels

    return pick(*labels(kind, state, version)) if state else ""


def trigger_label(kind: str, trigger: str, version: int | None = None) -> str:
    from ..services.workflows import trigger_label as labels

    return pick(*labels(kind, trigger, version))


def register(app) -> None:
    app.jinja_env.globals.update(html_lang=html_lang, language=language, pick=pick, label=label,
                                 registry_name=registry_name, state_label=state_label, trigger_label=trigger_label,
                                 LANGUAGES=LANGUAGES)
    app.jinja_env.filters.update(money=money, date=date, datetime=datetime, display_title=display_title,
                                 other_title=other_title)
