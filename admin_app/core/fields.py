"""Form fields and filters for the project's own column types.

Every datetime in the database is timezone-aware UTC (``UTCDateTime``); the back office
shows and accepts times in UTC, so values typed into forms and filters are read as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.form import DateTimeField, RenderTemplateWidget
from flask_admin.model.filters import convert as filters_for
from flask_admin.model.form import converts
from wtforms.validators import Length

from admin_app.core import adapter
from admin_app.core.models import MAX_INTEGER
from admin_app.core.validators import NUL, no_nul


def as_utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, (list, tuple)):
        return type(value)(as_utc(v) for v in value)
    return value


class UTCDateTimeField(DateTimeField):
    """A date-time picker whose value is an aware UTC datetime."""

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("description", "UTC")
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self.data = as_utc(self.data)

    def _value(self) -> str:
        if self.data and isinstance(self.data, datetime):
            return self.data.astimezone(UTC).strftime(self.format[0] if isinstance(self.format, list) else self.format)
        return super()._value()


class TabularInlineWidget(RenderTemplateWidget):
    """Inline rows as a table, one line per record, as Django's tabular inline: for rows
    that come by the dozen (an order's items). Flask-Admin's stacked cards take a template
    render per row; here every row renders in one template, in less markup (bench/README.md).
    Use it through the view's ``form_args``: ``{"items": {"widget": TabularInlineWidget()}}``.
    ``wide`` names the columns that take half the line (a product look-up)."""

    def __init__(self, wide: tuple[str, ...] = ()) -> None:
        super().__init__("admin/model/inline_table.html")
        self.wide = wide

    def __call__(self, field: Any, **kwargs: Any) -> str:
        # Flask-Admin's inline list calls its widget without the field's ``render_kw``: read
        # ``readonly`` there too (rows shown, unchangeable: no add, no delete).
        readonly = bool(kwargs.pop("readonly", False) or (field.render_kw or {}).get("readonly"))
        return super().__call__(field, wide=self.wide, readonly=readonly, **kwargs)


def _utc_filter(base: type) -> type:
    """The same filter, reading the typed date-time as UTC."""
    return type(base.__name__, (base,), {"clean": lambda self, value: as_utc(base.clean(self, value))})




def _fits(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_fits(v) for v in value)
    return not isinstance(value, int) or abs(value) <= MAX_INTEGER


def _refusing_unstorable(flt: Any) -> Any:
    validate = flt.validate

    def validate_storable(value: Any) -> bool:
        return NUL not in str(value) and validate(value) and _fits(flt.clean(value))

    return validate_storable


class ShopFilterConverter(sqla_filters.FilterConverter):
    utc_datetime_filters = tuple(
        _utc_filter(f) if f is not sqla_filters.FilterEmpty else f
        for f in sqla_filters.FilterConverter.datetime_filters
    )

    def convert(self, type_name: str, column: Any, name: str, **kwargs: Any) -> Any:
        """Every filter ignores a value the database cannot take, as it ignores one that does
        not parse: text holding NUL (PostgreSQL refuses it) and whole numbers an INTEGER
        column cannot hold (PostgreSQL: "integer out of range"; SQLite cannot bind past 64
        bits): the list would fail instead."""
        filters = super().convert(type_name, column, name, **kwargs)
        for flt in filters or ():
            adapter.replace_filter_validation(flt, _refusing_unstorable)
        return filters

    @filters_for("utcdatetime")
    def conv_utc_datetime(self, column: Any, name: str, **kwargs: Any) -> list[Any]:
        return [f(column, name, **kwargs) for f in self.utc_datetime_filters]


#: The most a form takes in a text column without a length of its own (a product's
#: description, a post's content): ~a long article, and well within the 1 MB request limit.
TEXT_MAX_CHARS = 50_000


def text_length_limit(maximum: int = TEXT_MAX_CHARS) -> Length:
    """At most ``maximum`` characters, said on the field (and as the textarea's maxlength)."""
    return Length(max=maximum, message=f"This text is too long: at most {maximum:,} characters, please "
                                       "(it has %(length)d).")


class ShopModelConverter(adapter.StringFieldHook):
    @classmethod
    def string_field_args(cls, column: Any, field_args: dict[str, Any]) -> None:
        """Every text field refuses NUL first (see :func:`~admin_app.core.validators.no_nul`);
        Flask-Admin limits ``String(n)`` columns to ``n`` characters, and every text column
        without a length (``Text``) is limited to ``TEXT_MAX_CHARS``."""
        field_args["validators"] = [no_nul, *field_args["validators"]]
        if column is not None and not isinstance(getattr(column.type, "length", None), int):
            field_args["validators"].append(text_length_limit())

    @converts("UTCDateTime")
    def conv_utc_datetime(self, field_args: dict[str, Any], **extra: Any) -> UTCDateTimeField:
        return UTCDateTimeField(**field_args)
