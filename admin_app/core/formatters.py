"""List and detail formatting shared by every view: money, dates, status badges, links, in the
employee's language, time zone and number format (:mod:`admin_app.core.i18n`)."""

from __future__ import annotations

from typing import Any

from flask import g, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from admin_app.core.i18n import format_datetime, format_money

STATUS_COLOURS = {
    "pending": "secondary", "paid": "info", "shipped": "primary", "delivered": "success", "cancelled": "dark",
    "draft": "secondary", "published": "success", "archived": "dark",
}


#: What staff read for a stored code (a status, a role): the code stays in the database,
#: the exports and the URLs.
CHOICE_LABELS = {
    "pending": _l("Pending"), "paid": _l("Paid"), "shipped": _l("Shipped"), "delivered": _l("Delivered"),
    "cancelled": _l("Cancelled"), "draft": _l("Draft"), "published": _l("Published"), "archived": _l("Archived"),
    "admin": _l("Admin"), "staff": _l("Staff"), "viewer": _l("Viewer"),
}


def choice_label(code: str | None) -> str:
    return "" if code is None else str(CHOICE_LABELS.get(code, code))


def choices(codes: tuple[str, ...]) -> list[tuple[str, Any]]:
    """``form_choices`` for stored codes, labelled in the employee's language."""
    return [(code, CHOICE_LABELS.get(code, code)) for code in codes]


# The column formatters run for every cell of a list page: f-strings around escape(), as
# ``Markup(...) % value`` costs several times more per cell.


def money_column(view: Any, context: Any, model: Any, name: str) -> Markup:
    return Markup(f'<span class="text-money">{escape(format_money(getattr(model, name)))}</span>')


def date_column(view: Any, context: Any, model: Any, name: str) -> str:
    return format_datetime(getattr(model, name))


def status_column(view: Any, context: Any, model: Any, name: str) -> Markup:
    status = getattr(model, name) or ""
    colour = STATUS_COLOURS.get(status, "light")
    return Markup(f'<span class="badge badge-status badge-{colour}">{escape(choice_label(status))}</span>')


def yes_no_column(view: Any, context: Any, model: Any, name: str) -> Markup:
    if getattr(model, name):
        return Markup('<span class="badge badge-success">%s</span>') % _("Yes")
    return Markup('<span class="badge badge-light">%s</span>') % _("No")


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
    deleted = escape(_("deleted")) if getattr(record, "is_deleted", False) else ""
    css = f' class="record-deleted" title="{deleted}"' if deleted else ""
    suffix = Markup(f' <span class="badge badge-warning">{deleted}</span>') if css else Markup("")
    href = escape(details_url(endpoint, record.id))
    return Markup(f'<a href="{href}"{css}>{text}</a>{suffix}')


def related(endpoint: str, attribute: str | None = None):
    """A column formatter linking ``model.<attribute or column name>`` to its detail page."""

    def format_related(view: Any, context: Any, model: Any, name: str) -> Markup:
        return link_to(endpoint, getattr(model, attribute or name))

    return format_related
