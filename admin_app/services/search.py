"""The one search of the back office's lists, their exports and ``manage.py export``, and
the command's filters: the columns come from each entity's export specification
(``search_columns``, ``filters``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Integer, Numeric, and_, false, inspect, or_, select
from sqlalchemy.sql.elements import ColumnElement

from admin_app.extensions import db


def _like(column: Any, pattern: str) -> ColumnElement[bool]:
    # SQLite's LIKE already ignores (ASCII) case, and is four times faster without ilike's lower().
    if db.engine.dialect.name == "sqlite":
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def _through_links(model: Any, links: Sequence[str], condition: Any) -> ColumnElement[bool]:
    """``condition`` on the target of many-to-one ``links`` as ``fk IN (SELECT pk FROM target
    WHERE ...)``: no join, so the database never scans every row of the list for it."""
    relationships, mapper = [], inspect(model)
    for link in links:
        relationships.append(mapper.relationships[link])
        mapper = relationships[-1].mapper
    match = condition(mapper.class_)
    for relationship in reversed(relationships):
        ((local, remote),) = relationship.local_remote_pairs
        match = local.in_(select(remote).where(match))
    return match


def _any_like(names: Sequence[str], pattern: str) -> Any:
    return lambda target: or_(*(_like(getattr(target, name), pattern) for name in names))


def _word_clause(model: Any, columns: Sequence[str], word: str) -> ColumnElement[bool]:
    # Up to 18 digits always fits a BIGINT: never an out-of-range bind on either database.
    number = int(word) if word.isascii() and word.isdigit() and len(word) <= 18 else None
    pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"  # wildcards literal
    alternatives: list[Any] = []
    related: dict[tuple[str, ...], list[str]] = {}
    for path in columns:
        *links, name = path.split(".")
        if links:
            related.setdefault(tuple(links), []).append(name)
        elif isinstance(getattr(model, name).type, (Integer, Numeric)):
            # A whole number matches exactly: order 12 does not find orders 112 and 1203.
            if number is not None:
                alternatives.append(getattr(model, name) == number)
        else:
            alternatives.append(_like(getattr(model, name), pattern))
    alternatives += [_through_links(model, links, _any_like(names, pattern)) for links, names in related.items()]
    return or_(*alternatives) if alternatives else false()


def search_clause(model: Any, columns: Sequence[str], text: str | None) -> ColumnElement[bool] | None:
    """Every word of ``text`` must match one of ``columns`` of ``model`` (attribute paths;
    case-insensitive substrings, ``%`` and ``_`` literal; a whole number matches numeric
    columns exactly; through links as ``fk IN (SELECT ...)``); None for a blank search."""
    words = (text or "").replace("\x00", "").split()  # PostgreSQL cannot compare text holding NUL
    if not words:
        return None
    return and_(*(_word_clause(model, columns, word) for word in words))


def _filter_value(column: Any, text: str) -> Any:
    """``text`` as a value of ``column``'s type, read as the list's filters read it."""
    kind = column.type.python_type
    if kind is bool:
        if text.lower() not in ("1", "0", "yes", "no", "true", "false"):
            raise ValueError("expected yes or no")
        return text.lower() in ("1", "yes", "true")
    if kind is datetime:
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    try:
        return Decimal(text) if kind is Decimal else kind(text)
    except InvalidOperation as error:
        raise ValueError("expected a number") from error


def filter_clause(model: Any, filters: Sequence[str], assignment: str) -> ColumnElement[bool]:
    """``NAME=VALUE`` for one of ``filters`` (attribute paths): the rows whose value equals
    VALUE, as the list's "equals" filter. ValueError says what is wrong."""
    path, equals, text = assignment.partition("=")
    if not equals or path not in filters:
        raise ValueError(f"expected NAME=VALUE, NAME one of: {', '.join(filters)}")
    *links, name = path.split(".")
    try:
        return _through_links(model, links, lambda target: getattr(target, name) == _filter_value(
            getattr(target, name), text))
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path}: {text!r} is not a valid value ({error})") from error
