"""Each employee's language, time zone and number formats (Flask-Babel, Babel's CLDR data).

- :func:`select_locale`: the employee's choice (My account), else the browser's
  ``Accept-Language`` among ``LANGUAGES``, else the first of them (English).
- :func:`select_timezone`: the employee's choice, else ``SHOP_TIMEZONE`` (default UTC).
- :func:`format_datetime`, :func:`format_date`, :func:`format_money`, :func:`format_number`:
  what list and detail pages, the dashboard and templates show; the database and exports
  keep UTC and ``.`` decimals whatever the language.
- :func:`parse_decimal` and :func:`to_utc`: what forms and filters read back.

Our catalogue is ``admin_app/translations`` (domain ``messages``); Flask-Admin's own
(domain ``admin``, de/fr/pl among others) comes with it and is switched on by Flask-Babel
being installed (``flask_admin.babel``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import flask_babel
from babel import numbers
from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale, get_timezone
from flask_login import current_user

from admin_app.config import PROJECT_ROOT
from admin_app.extensions import babel

TRANSLATIONS = PROJECT_ROOT / "admin_app" / "translations"
#: Each language's name in itself: what the language menu offers (never translated).
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "fr": "Français", "pl": "Polski"}


@cache
def time_zones() -> frozenset[str]:
    """Every IANA time zone name this machine knows (tzdata)."""
    return frozenset(available_timezones())


def _preference(name: str) -> Any:
    if not has_request_context():
        return None
    user = current_user._get_current_object()
    if user is None or not user.is_authenticated:
        return None
    return (getattr(user, "preferences", None) or {}).get(name)


def select_locale() -> str:
    languages = list(current_app.config["LANGUAGES"])
    chosen = _preference("language")
    if chosen in languages:
        return chosen
    return browser_language(languages) or languages[0]


def browser_language(languages: list[str]) -> str | None:
    """The first of the browser's languages (``Accept-Language``, by quality) that we offer,
    itself or by its language alone (``fr-CH`` → ``fr``): Werkzeug's ``best_match`` would
    prefer a later exact match (``de;q=0.5``) to a regional variant of the first choice."""
    if not has_request_context():
        return None
    offered = {code.lower().replace("_", "-"): code for code in languages}
    for accepted, _quality in request.accept_languages:
        tag = accepted.lower().replace("_", "-")
        code = offered.get(tag) or offered.get(tag.split("-")[0])
        if code is not None:
            return code
    return None


def select_timezone() -> str:
    chosen = _preference("timezone")
    return chosen if chosen in time_zones() else current_app.config["SHOP_TIMEZONE"]


def register_i18n(app: Flask) -> None:
    """Flask-Babel with our selectors; ``_``/``ngettext`` and the formatters in templates."""
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.globals.update(format_datetime=format_datetime, format_date=format_date,
                                 format_money=format_money, format_number=format_number, money_format=money_format,
                                 format_percent_change=format_percent_change,
                                 html_lang=html_lang)


def html_lang() -> str:
    """``<html lang>``: the language in use, as BCP 47 (``pl``, ``en-001``)."""
    return str(get_locale() or "en").replace("_", "-")


def format_datetime(value: datetime | None) -> str:
    """In the employee's time zone, the locale's short format (``25.11.26, 14:53``)."""
    if value is None:
        return ""
    return flask_babel.format_datetime(value if value.tzinfo else value.replace(tzinfo=UTC), "short")


def format_date(value: date | None) -> str:
    if value is None:
        return ""
    return flask_babel.format_date(value, "short")


def format_money(value: Any) -> str:
    """An amount in ``SHOP_CURRENCY`` as the locale writes it (``1.234,56 €`` in German)."""
    if value is None:
        return ""
    return numbers.format_currency(Decimal(value), current_app.config["SHOP_CURRENCY"], locale=get_locale())


def money_format() -> dict[str, str]:
    """What a page's script needs to read and write amounts as :func:`format_money` and
    :func:`parse_decimal` do: the currency and the locale's decimal and group signs."""
    locale = get_locale()
    return {"currency": current_app.config["SHOP_CURRENCY"], "decimal": numbers.get_decimal_symbol(locale),
            "group": numbers.get_group_symbol(locale)}


def format_number(value: Any, decimals: int | None = None) -> str:
    """A number with the locale's separators; ``decimals`` fixes the places shown."""
    if value is None:
        return ""
    pattern = None if decimals is None else "#,##0." + "0" * decimals if decimals else "#,##0"
    return numbers.format_decimal(value, format=pattern, locale=get_locale())


def format_percent_change(value: float) -> str:
    """``+12.5%`` / ``−3,0 %``: a signed change, as the locale writes percentages."""
    return numbers.format_percent(value / 100, format="+#,##0.0%;-#,##0.0%", locale=get_locale())


def decimal_input(value: Any, places: int) -> str:
    """A form field's text for an amount: the locale's decimal sign, no grouping (``12,50``)."""
    return numbers.format_decimal(value, format="0." + "0" * places, locale=get_locale())


def parse_decimal(text: str) -> Decimal:
    """What someone typed as an amount: the locale's own form first (``12,50``, ``1.234,5``
    in German), else plain ``12.50`` (the form every machine and every language agrees on).
    Raises ``ValueError`` when it is neither."""
    text = text.strip()
    try:
        return numbers.parse_decimal(text, locale=get_locale(), strict=True)
    except numbers.NumberFormatError:
        pass
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(text) from exc


def employee_zone() -> ZoneInfo:
    return ZoneInfo(str(get_timezone())) if has_request_context() else ZoneInfo("UTC")


def to_utc(value: Any) -> Any:
    """A datetime typed in the employee's time zone (naive) or any aware one, as UTC; lists
    and tuples (a "between" filter) item by item."""
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=employee_zone()) if value.tzinfo is None else value
        return aware.astimezone(UTC)
    if isinstance(value, (list, tuple)):
        return type(value)(to_utc(v) for v in value)
    return value


def in_employee_zone(value: datetime) -> datetime:
    """A stored (UTC) datetime as the employee's wall-clock time, naive, for a form field."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(employee_zone()).replace(tzinfo=None)
