"""Form validators that mirror the database's constraints, so the form complains first,
and the ajax lookups whose posted ids are checked before they reach the database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import request
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from sqlalchemy import func, select
from wtforms import ValidationError
from wtforms.validators import InputRequired, NumberRange, Optional

from admin_app.extensions import db
from admin_app.models import MAX_MONEY

MAX_ID = 2**31 - 1  # the largest INTEGER primary key


def parse_id(value: Any) -> int | None:
    """A posted record id as an integer, or None if it cannot be one."""
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else None


class LookupLoader(QueryAjaxModelLoader):
    """An ajax lookup (``form_ajax_refs``) that refuses a malformed id itself: a forged
    ``user=abc`` is "Not a valid choice" in the form, where PostgreSQL would fail the
    request comparing an integer key with text."""

    def get_one(self, pk: Any) -> Any:
        record_id = parse_id(pk)
        return None if record_id is None else super().get_one(record_id)

    def get_query(self) -> Any:
        """Suggestions leave deleted records out (``get_one`` still finds them, so a form
        that already points at one keeps showing it)."""
        query = super().get_query()
        if hasattr(self.model, "deleted_at"):
            query = query.filter(self.model.deleted_at.is_(None))
        return query


def lookup(model: Any, name: str, **options: Any) -> LookupLoader:
    """A loader for a field pointing at ``model``; a new one per field (an inline form
    renames the loader it is given)."""
    return LookupLoader(name, db, model, **options)


class UniqueIgnoringCase:
    """No other row has this value in ``column``, compared case-insensitively (as the
    database's ``lower(...)`` unique index does). The record being edited is skipped."""

    def __init__(self, column: Any, message: str | None = None) -> None:
        self.column = column
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        if not field.data:
            return
        model = self.column.class_
        # Unique across the whole table (single-table inheritance: customers and employees).
        base = model.__mapper__.base_mapper.class_
        query = select(base).where(func.lower(self.column) == str(field.data).strip().lower())
        editing = request.args.get("id")
        if editing and editing.isdigit():
            query = query.where(base.id != int(editing))
        taken = db.session.scalars(query.limit(1)).first()
        if taken is None:
            return
        if getattr(taken, "deleted_at", None) is not None:
            # Soft-deleted rows keep their unique values, so history stays unambiguous.
            raise ValidationError(f"This {field.label.text.lower()} belongs to a deleted {type(taken).__name__.lower()} "
                                  f"({taken}): restore it, or ask an admin to purge it.")
        raise ValidationError(self.message or f"This {field.label.text.lower()} is already taken.")


def whole_cents(form: Any, field: Any) -> None:
    """At most two decimal places: PostgreSQL would round 1.005 and SQLite keep it."""
    value = field.data
    if isinstance(value, Decimal) and value.is_finite() and value != value.quantize(Decimal("0.01")):
        raise ValidationError("Enter an amount with at most 2 decimal places.")


def money(required: bool = True, minimum: Decimal = Decimal("0.01")) -> dict[str, Any]:
    """``form_args`` for a ``Numeric(10, 2)`` amount."""
    return {
        "places": 2,
        "validators": [
            InputRequired() if required else Optional(),
            NumberRange(min=minimum, max=MAX_MONEY,
                        message=f"Enter an amount between {minimum} and {MAX_MONEY:,}."),
            whole_cents,
        ],
    }


def count(minimum: int, maximum: int = 1_000_000, required: bool = True) -> dict[str, Any]:
    """``form_args`` for a whole-number quantity or stock level."""
    return {
        "validators": [
            InputRequired() if required else Optional(),
            NumberRange(min=minimum, max=maximum, message=f"Enter a whole number from {minimum} to {maximum:,}."),
        ]
    }
