"""The one search of the back office's lists, their exports and ``manage.py export``: the
columns come from each entity's export specification (``search_columns``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Numeric, and_, false, inspect, or_, select
from sqlalchemy.sql.elements import ColumnElement

from admin_app.extensions import db


def _like(column: Any, pattern: str) -> ColumnElement[bool]:
    # SQLite's LIKE already ignores (ASCII) case, and is four times faster without ilike's lower().
    if db.engine.dialect.name == "sqlite":
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def _related_match(model: Any, links: Sequence[str], names: Sequence[str], pattern: str) -> ColumnElement[bool]:
    """``fk IN (SELECT pk FROM target WHERE ...)`` along many-to-one links: no join, so
    a search never makes the database scan every row of the list for every word."""
    relationships, mapper = [], inspect(model)
    for link in links:
        relationships.append(mapper.relationships[link])
        mapper = relationships[-1].mapper
    match: Any = or_(*(_like(getattr(mapper.class_, name), pattern) for name in names))
    for relationship in reversed(relationships):
        ((local, remote),) = relationship.local_remote_pairs
        match = local.in_(select(remote).where(match))
    return match


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
    alternatives += [_related_match(model, links, names, pattern) for links, names in related.items()]
    return or_(*alternatives) if alternatives else false()


def search_clause(model: Any, columns: Sequence[str], text: str | None) -> ColumnElement[bool] | None:
    """Every word of ``text`` must match one of ``columns`` of ``model`` (attribute paths;
    case-insensitive substrings, ``%`` and ``_`` literal; a whole number matches numeric
    columns exactly; through links as ``fk IN (SELECT ...)``); None for a blank search."""
    words = (text or "").replace("\x00", "").split()  # PostgreSQL cannot compare text holding NUL
    if not words:
        return None
    return and_(*(_word_clause(model, columns, word) for word in words))
