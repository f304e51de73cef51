"""Form fields and filters for the project's own column types.

Every datetime in the database is timezone-aware UTC (``UTCDateTime``); the back office
shows and accepts times in the employee's time zone (:mod:`admin_app.core.i18n`), so values
typed into forms and filters are read in that zone and stored and compared as UTC. Amounts
are typed as the employee's language writes them (``12,50`` in German) or plainly (``12.50``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.form import DateTimeField, RenderTemplateWidget
from flask_admin.model.filters import convert as filters_for
from flask_admin.model.form import converts
from flask_babel import LazyString, get_timezone
from flask_babel import gettext as _
from wtforms import DecimalField
from wtforms.validators import Length
from wtforms.widgets import TextInput

from admin_app.core import adapter
from admin_app.core.i18n import decimal_input, format_number, in_employee_zone, parse_decimal, to_utc
from admin_app.core.models import MAX_INTEGER
from admin_app.core.validators import NUL, no_nul

#: A date-time field's note: which zone its value is typed in.
ZONE_NOTE = LazyString(lambda: _("Time zone: %(zone)s", zone=str(get_timezone())))


class UTCDateTimeField(DateTimeField):
    """A date-time picker typed in the employee's time zone, whose value is an aware UTC datetime."""

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("description", ZONE_NOTE)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self.data = to_utc(self.data)

    def _value(self) -> str:
        if self.data and isinstance(self.data, datetime):
            shown = in_employee_zone(self.data)
            return shown.strftime(self.format[0] if isinstance(self.format, list) else self.format)
        return super()._value()


class LocaleDecimalField(DecimalField):
    """An amount typed as the employee's language writes it (``12,50``) or plainly (``12.50``),
    and shown back in the language's form (no grouping, the field's places). A text input
    (with the decimal keypad on phones): a number input would refuse ``12,50`` as its value."""

    widget = TextInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["render_kw"] = {"inputmode": "decimal", **(kwargs.get("render_kw") or {})}
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        try:
            self.data = parse_decimal(valuelist[0])
        except (InvalidOperation, ValueError) as exc:
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value.")) from exc

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if isinstance(self.data, (Decimal, int, float)) and not isinstance(self.data, bool) and self.places:
            return decimal_input(self.data, self.places)
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


def _zoned_filter(base: type) -> type:
    """The same filter, reading the typed date-time in the employee's time zone (as UTC)."""
    return type(base.__name__, (base,), {"clean": lambda self, value: to_utc(base.clean(self, value))})




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
        _zoned_filter(f) if f is not sqla_filters.FilterEmpty else f
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
    return Length(max=maximum, message=LazyString(lambda: _(
        "This text is too long: at most %(maximum)s characters, please (it has %%(length)d).",
        maximum=format_number(maximum))))


class ShopModelConverter(adapter.StringFieldHook):
    @classmethod
    def string_field_args(cls, column: Any, field_args: dict[str, Any]) -> None:
        """Every text field refuses NUL first (see :func:`~admin_app.core.validators.no_nul`);
        Flask-Admin limits ``String(n)`` columns to ``n`` characters, and every text column
        without a length (``Text``) is limited to ``TEXT_MAX_CHARS``."""
        field_args["validators"] = [no_nul, *field_args["validators"]]
        if column is not None and not isinstance(getattr(column.type, "length", None), int):
            field_args["validators"].append(text_length_limit())

    @converts("Numeric")  # Flask-Admin's own: DECIMAL, Float, REAL, DOUBLE
    def handle_decimal_types(self, column: Any, field_args: dict[str, Any], **extra: Any) -> LocaleDecimalField:
        field_args.setdefault("places", None)
        return LocaleDecimalField(**field_args)

    @converts("UTCDateTime")
    def conv_utc_datetime(self, field_args: dict[str, Any], **extra: Any) -> UTCDateTimeField:
        return UTCDateTimeField(**field_args)
