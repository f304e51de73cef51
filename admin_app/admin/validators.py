"""Form validators that mirror the database's constraints, so the form complains first."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import request
from sqlalchemy import func, select
from wtforms import ValidationError
from wtforms.validators import InputRequired, NumberRange, Optional

from admin_app.extensions import db
from admin_app.models import MAX_MONEY


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


def money(required: bool = True, minimum: Decimal = Decimal("0.01")) -> dict[str, Any]:
    """``form_args`` for a ``Numeric(10, 2)`` amount."""
    return {
        "places": 2,
        "validators": [
            InputRequired() if required else Optional(),
            NumberRange(min=minimum, max=MAX_MONEY,
                        message=f"Enter an amount between {minimum} and {MAX_MONEY:,}."),
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
