"""Form validators that mirror the database's constraints, so the form complains first,
and the ajax lookups whose posted ids are checked before they reach the database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import request
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from wtforms import ValidationError
from wtforms.validators import Email, InputRequired, NumberRange, Optional, StopValidation

from admin_app.core.i18n import format_number
from admin_app.core.models import MAX_INTEGER, MAX_MONEY
from admin_app.extensions import db

MAX_LOOKUP_PAGE = 100  # suggestions per ajax request, at most
NUL = "\x00"
NUL_MESSAGE = _l("Remove the invisible NUL character (\\x00): it cannot be stored.")


def no_nul(form: Any, field: Any) -> None:
    """PostgreSQL refuses text holding NUL ("cannot contain NUL (0x00) bytes") where SQLite
    stores it: refuse it on the field on both, before any other check sends it to the
    database (a uniqueness check would fail the request)."""
    if isinstance(field.data, str) and NUL in field.data:
        raise StopValidation(str(NUL_MESSAGE))


def without_nul(text: str | None) -> str | None:
    """A search or look-up term without NUL (nobody searches for one; PostgreSQL cannot)."""
    return text.replace(NUL, "") if isinstance(text, str) else text


def parse_id(value: Any) -> int | None:
    """A posted record id as an integer, or None if it cannot be one (ASCII digits only:
    ``"²".isdigit()`` is true but ``int("²")`` fails, and ``"١٢"`` is no id anyone typed)."""
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_INTEGER else None


def parse_ids(values: Any) -> list[int]:
    """The valid record ids among posted ones (a bulk action's ``rowid`` list)."""
    return [record_id for record_id in map(parse_id, values or ()) if record_id is not None]


class LookupLoader(QueryAjaxModelLoader):
    """An ajax lookup (``form_ajax_refs``) that refuses a malformed id itself: a forged
    ``user=abc`` is "Not a valid choice" in the form, where PostgreSQL would fail the
    request comparing an integer key with text.

    ``offered`` (a callable giving a SQL condition, option of :func:`lookup`) narrows the
    suggestions to what may be picked in that field (active employees as a post's author);
    :func:`offered_by_lookup` refuses a posted choice outside it."""

    def __init__(self, name: str, session: Any, model: Any, **options: Any) -> None:
        self.offered = options.pop("offered", None)
        # ``describe`` (record -> label) tells like-named suggestions apart; ``details``
        # (record -> dict) goes to the page's scripts beside it (an order line's price).
        self.describe = options.pop("describe", str)
        self.details = options.pop("details", None)
        super().__init__(name, session, model, **options)

    def format(self, model: Any) -> Any:
        """A suggestion as ``[id, label]`` (Flask-Admin's select2 reads those two), with
        ``details`` third where the look-up has them."""
        if not model:
            return None
        primary_key = getattr(model, self.pk)
        label = self.describe(model)
        return (primary_key, label) if self.details is None else (primary_key, label, self.details(model))

    def offers(self, record: Any) -> bool:
        """Whether ``record`` is one of the suggestions this look-up may give."""
        primary_key = self.model.__mapper__.primary_key[0]
        query = self.get_query().filter(primary_key == getattr(record, primary_key.key)).exists()
        return bool(db.session.query(query).scalar())

    def get_one(self, pk: Any) -> Any:
        """The posted record, in the trash or not: a reference always loads (a form keeps
        pointing at an order's deleted product); newly picking one is refused with its
        name by ``base.refuse_new_references_to_deleted``."""
        record_id = parse_id(pk)
        if record_id is None:
            return None
        with db.session.no_autoflush:
            return db.session.get(self.model, record_id, execution_options={"include_deleted": True})

    def get_list(self, term: str, offset: int = 0, limit: int = 10) -> Any:
        """Suggestions for ``term`` (without NUL), paged within sane bounds whatever the
        query string says (``offset=99999999999999999999`` would fail the request)."""
        offset = min(max(offset or 0, 0), MAX_INTEGER)
        limit = min(max(limit or self.options.get("page_size") or 10, 1), MAX_LOOKUP_PAGE)
        return super().get_list(without_nul(term) or "", offset, limit)

    def get_query(self) -> Any:
        """Suggestions: what the field may offer (records in the trash are left out by the
        session's trash rule; ``get_one`` still finds them, so a form that already points
        at one keeps showing it)."""
        query = super().get_query()
        if self.offered is not None:
            query = query.filter(self.offered())
        return query


def offered_by_lookup(form: Any, field: Any) -> None:
    """A newly picked record must be one the field's look-up offers (a forged post cannot
    pick a deactivated employee); the record the form was loaded with may stay."""
    loader = getattr(field, "loader", None)
    if loader is None or field.data is None or field.data is field.object_data:
        return
    if not loader.offers(field.data):
        raise ValidationError(_("%(record)s cannot be chosen here.", record=field.data))


def drop_unsaved_rows_marked_deleted(rows: Any, saved: Any) -> None:
    """Inline rows posted with their ``del-`` flag that are not one of the record's saved rows
    (``saved``): Flask-Admin skips validating a row marked for removal, yet saves it when its
    id matches none of the record's rows, so a forged or stale form could store anything.
    Such a row is dropped, as if it had been removed in the browser before saving."""
    if rows is None:
        return
    saved_ids = {str(row.id) for row in saved or ()}
    rows.entries = [entry for entry in rows.entries
                    if not (rows.should_delete(entry) and str(entry.get_pk()) not in saved_ids)]


def lookup(model: Any, name: str, **options: Any) -> LookupLoader:
    """A loader for a field pointing at ``model``; a new one per field (an inline form
    renames the loader it is given)."""
    return LookupLoader(name, db, model, **options)


class UniqueValue:
    """No other row has this value in ``column`` (the record being edited is skipped), in
    the trash or not: a unique value stays taken while its row is in the trash, so history
    stays unambiguous, and the message says whose it is. Stops the field's other checks
    (Flask-Admin's own "Already exists." would not see the trash)."""

    ignore_case = False

    def __init__(self, column: Any, message: str | None = None) -> None:
        self.column = column
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        if not field.data:
            return
        model = self.column.class_
        # Unique across the whole table (single-table inheritance: customers and employees).
        base = model.__mapper__.base_mapper.class_
        value = str(field.data).strip()
        matches = (func.lower(self.column) == value.lower()) if self.ignore_case else (self.column == value)
        query = select(base).where(matches)
        editing = parse_id(request.args.get("id"))
        if editing is not None:
            query = query.where(base.id != editing)
        taken = db.session.scalars(query.limit(1).execution_options(include_deleted=True)).first()
        if taken is None:
            return
        if getattr(taken, "is_deleted", False):
            kind = str(getattr(type(taken), "kind_label", type(taken).__name__)).lower()
            raise StopValidation(_("This %(field)s belongs to a deleted %(kind)s (%(record)s): restore it, or ask "
                                   "an admin to purge it.", field=field.label.text.lower(), kind=kind, record=taken))
        raise StopValidation(self.message or _("This %(field)s is already taken.", field=field.label.text.lower()))


class UniqueIgnoringCase(UniqueValue):
    """:class:`UniqueValue` compared case-insensitively, as the database's ``lower(...)``
    unique index does."""

    ignore_case = True


def email_address(form: Any, field: Any) -> None:
    """A valid email address (WTForms' check), said in the employee's language."""
    try:
        Email()(form, field)
    except ValidationError as exc:
        raise ValidationError(_("Enter a valid email address.")) from exc


def whole_cents(form: Any, field: Any) -> None:
    """At most two decimal places: PostgreSQL would round 1.005 and SQLite keep it."""
    value = field.data
    # Out of range (1e309) is NumberRange's to report: quantizing it would raise InvalidOperation.
    if (isinstance(value, Decimal) and value.is_finite() and abs(value) <= MAX_MONEY
            and value != value.quantize(Decimal("0.01"))):
        raise ValidationError(_("Enter an amount with at most 2 decimal places."))


def money(required: bool = True, minimum: Decimal = Decimal("0.01")) -> dict[str, Any]:
    """``form_args`` for a ``Numeric(10, 2)`` amount."""
    return {
        "places": 2,
        "validators": [
            InputRequired() if required else Optional(),
            NumberRange(min=minimum, max=MAX_MONEY,
                        message=LazyString(lambda: _("Enter an amount between %(minimum)s and %(maximum)s.",
                                                     minimum=format_number(minimum, 2),
                                                     maximum=format_number(MAX_MONEY, 2)))),
            whole_cents,
        ],
    }


def count(minimum: int, maximum: int = 1_000_000, required: bool = True) -> dict[str, Any]:
    """``form_args`` for a whole-number quantity or stock level."""
    return {
        "validators": [
            InputRequired() if required else Optional(),
            NumberRange(min=minimum, max=maximum,
                        message=LazyString(lambda: _("Enter a whole number from %(minimum)s to %(maximum)s.",
                                                     minimum=format_number(minimum), maximum=format_number(maximum)))),
        ]
    }
