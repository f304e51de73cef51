"""List and detail formatting shared by every view: money, dates, status badges, links."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import g, url_for
from markupsafe import Markup, escape

DATE_FORMAT = "%Y-%m-%d %H:%M"
STATUS_COLOURS = {
    "pending": "secondary", "paid": "info", "shipped": "primary", "delivered": "success", "cancelled": "dark",
    "draft": "secondary", "published": "success", "archived": "dark",
}


def money(value: Decimal | None) -> str:
    return "" if value is None else f"{Decimal(value):,.2f}"


def when(value: datetime | None) -> str:
    return "" if value is None else value.strftime(DATE_FORMAT) + " UTC"


# The column formatters run for every cell of a list page: f-strings around escape(), as
# ``Markup(...) % value`` costs several times more per cell.


def money_column(view: Any, context: Any, model: Any, name: str) -> Markup:
    return Markup(f'<span class="text-money">{money(getattr(model, name))}</span>')  # digits, "," and "."


def date_column(view: Any, context: Any, model: Any, name: str) -> str:
    return when(getattr(model, name))


def status_column(view: Any, context: Any, model: Any, name: str) -> Markup:
    status = getattr(model, name) or ""
    colour = STATUS_COLOURS.get(status, "light")
    return Markup(f'<span class="badge badge-status badge-{colour}">{escape(status.title())}</span>')


def yes_no_column(view: Any, context: Any, model: Any, name: str) -> Markup:
    value = getattr(model, name)
    return Markup('<span class="badge badge-success">Yes</span>' if value
                  else '<span class="badge badge-light">No</span>')


def details_url(endpoint: str, record_id: int) -> str:
    """``url_for(endpoint.details_view, id=...)``, built once per request and endpoint: a
    list page links every row, and URL building was a noticeable part of its cost."""
    cache = g.setdefault("details_urls", {})
    if endpoint not in cache:
        cache[endpoint] = url_for(f"{endpoint}.details_view", id=0).replace("id=0", "id={}")
    return cache[endpoint].format(int(record_id))


def link_to(endpoint: str, record: Any, label: Any = None) -> Markup:
    """A link to a related record's detail page; deleted records are marked as such."""
    if record is None:
        return Markup("")
    text = escape(label if label is not None else str(record))
    css = ' class="record-deleted" title="deleted"' if getattr(record, "is_deleted", False) else ""
    suffix = Markup(' <span class="badge badge-warning">deleted</span>') if css else Markup("")
    href = escape(details_url(endpoint, record.id))
    return Markup(f'<a href="{href}"{css}>{text}</a>{suffix}')


def related(endpoint: str, attribute: str | None = None):
    """A column formatter linking ``model.<attribute or column name>`` to its detail page."""

    def format_related(view: Any, context: Any, model: Any, name: str) -> Markup:
        return link_to(endpoint, getattr(model, attribute or name))

    return format_related
