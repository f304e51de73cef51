"""Form fields and filters for the project's own column types.

Every datetime in the database is timezone-aware UTC (``UTCDateTime``); the back office
shows and accepts times in UTC, so values typed into forms and filters are read as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.form import DateTimeField
from flask_admin.model.filters import convert
from flask_admin.model.form import converts


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


def _utc_filter(base: type) -> type:
    """The same filter, reading the typed date-time as UTC."""
    return type(base.__name__, (base,), {"clean": lambda self, value: as_utc(base.clean(self, value))})


class ShopFilterConverter(sqla_filters.FilterConverter):
    utc_datetime_filters = tuple(
        _utc_filter(f) if f is not sqla_filters.FilterEmpty else f
        for f in sqla_filters.FilterConverter.datetime_filters
    )

    @convert("utcdatetime")
    def conv_utc_datetime(self, column: Any, name: str, **kwargs: Any) -> list[Any]:
        return [f(column, name, **kwargs) for f in self.utc_datetime_filters]


class ShopModelConverter(AdminModelConverter):
    @converts("UTCDateTime")
    def conv_utc_datetime(self, field_args: dict[str, Any], **extra: Any) -> UTCDateTimeField:
        return UTCDateTimeField(**field_args)
