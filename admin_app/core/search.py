"""The one search of the back office's lists, their exports and ``manage.py export``, its
limits, and the command's filters: the columns come from each entity's export specification
(``search_columns``, ``filters``).

Every word of a search is one more condition on every searched column, so a search has a
cost the database must bound: SQLite refuses one of about 500 words outright ("Expression
tree is too large"), and PostgreSQL takes ever longer. The list and its export (and the
command line's export) all keep the first ``MAX_SEARCH_TERMS`` words within
``MAX_SEARCH_CHARS`` characters, and say what they left out (:func:`limit_search`).

Conditions through a many-to-one link (``user.username``) are matched on the target's
*table* columns: a reference always loads, in the trash or not (``core.soft_delete``), so
orders of a customer in the trash are still found by that customer's name.

A column marked ``info={"search": NORMALISED}`` holds :func:`normalise` of its row's text
(kept by the models on every write path); a word is matched against it normalised the same
way, so "emile" finds "Émile", "OBRIEN" finds "O'Brien" and "lodz" finds "Łódź" on SQLite
and PostgreSQL alike.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import ngettext
from sqlalchemy import Integer, Numeric, and_, false, inspect, or_, select
from sqlalchemy.sql.elements import ColumnElement

from admin_app.extensions import db

NORMALISED = "normalised"  # the ``info["search"]`` of a column holding normalised text
MAX_SEARCH_TERMS = 10
MAX_SEARCH_CHARS = 200


@dataclass(frozen=True)
class LimitedSearch:
    """A search's words within the limits (``text``), and the words left out (``dropped``)."""

    text: str
    dropped: tuple[str, ...]

    def message(self) -> str:
        shown = " ".join(self.dropped)
        if len(shown) > 80:
            shown = shown[:79] + "…"
        return ngettext("Searches use at most %(words)d words and %(chars)d characters, so %(num)d word was left "
                        "out: %(shown)s",
                        "Searches use at most %(words)d words and %(chars)d characters, so %(num)d words were left "
                        "out: %(shown)s", len(self.dropped), words=MAX_SEARCH_TERMS, chars=MAX_SEARCH_CHARS,
                        shown=shown)


def limit_search(text: str | None) -> LimitedSearch:
    """The first ``MAX_SEARCH_TERMS`` words of a search, within ``MAX_SEARCH_CHARS``
    characters (a longer first word is cut). Every word is one more condition on every
    searched column: SQLite refuses a search of ~500 words outright ("Expression tree is
    too large") and PostgreSQL takes ever longer, so the list and its export would fail."""
    words = (text or "").split()
    kept: list[str] = []
    cut = ""  # the end of a word cut off at the character limit
    for word in words[:MAX_SEARCH_TERMS]:
        room = MAX_SEARCH_CHARS - len(" ".join(kept)) - (1 if kept else 0)
        if len(word) > room:
            if room > 0:
                kept.append(word[:room])
                cut = word[room:]
            break
        kept.append(word)
    dropped = ((cut,) if cut else ()) + tuple(words[len(kept):])
    return LimitedSearch(" ".join(kept), dropped)


#: Letters NFKD leaves whole (a stroke or a ligature is no combining mark), written as the
#: plain letters people type for them: "lodz" finds "Łódź", "soren" "Søren", "aero" "Ærø".
#: Applied after case-folding (so the lower-case letters are enough: "Ł" folds to "ł");
#: "ß" needs no entry (case-folding makes it "ss"). Changing it changes every stored
#: ``users.search_key``: a migration recomputes them (0013 did for this table).
TRANSLITERATION = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d",
                                 "ı": "i"})


def normalise(*texts: str | None) -> str:
    """The one form both a searched text and a search word are compared in: Unicode NFKD,
    combining marks removed, case-folded, the letters of :data:`TRANSLITERATION` written
    plainly, only letters, digits and single spaces kept."""
    decomposed = unicodedata.normalize("NFKD", " ".join(t for t in texts if t))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().translate(TRANSLITERATION)
    return " ".join("".join(c for c in folded if c.isalnum() or c.isspace()).split())


def _like(column: Any, pattern: str) -> ColumnElement[bool]:
    # SQLite's LIKE already ignores (ASCII) case, and is faster without ilike's lower() (bench/README.md).
    if db.engine.dialect.name == "sqlite":
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def _attribute(mapper: Any, name: str, through_link: bool) -> Any:
    """What a search or filter compares: reached through a link, the target's table column
    (a reference always loads: no trash rule on it), else the mapped attribute (a hybrid
    such as an order's total included)."""
    if through_link and name in mapper.columns:
        return mapper.columns[name]
    return getattr(mapper.class_, name)


def _through_links(model: Any, links: Sequence[str], condition: Any) -> ColumnElement[bool]:
    """``condition`` (given the target's mapper and whether a link leads to it) on the target
    of many-to-one ``links`` as ``fk IN (SELECT pk FROM target WHERE ...)``: no join, so the
    database never scans every row of the list for it."""
    relationships, mapper = [], inspect(model)
    for link in links:
        relationships.append(mapper.relationships[link])
        mapper = relationships[-1].mapper
    match = condition(mapper, bool(links))
    for relationship in reversed(relationships):
        ((local, remote),) = relationship.local_remote_pairs
        match = local.in_(select(remote).where(match))
    return match


def _matches(column: Any, key: str, pattern: str) -> ColumnElement[bool]:
    """``column`` holds the word: a normalised column its normalised ``key`` (plain LIKE: both
    are case-folded already, and PostgreSQL's trigram index serves it), any other ``pattern``."""
    if column.info.get("search") != NORMALISED:
        return _like(column, pattern)
    return column.like(f"%{key}%") if key else false()


def _any_like(names: Sequence[str], key: str, pattern: str) -> Any:
    return lambda target, linked: or_(*(_matches(_attribute(target, name, linked), key, pattern) for name in names))


def _is_number(model: Any, path: str) -> bool:
    return "." not in path and isinstance(getattr(model, path).type, (Integer, Numeric))


def _direct_clause(model: Any, name: str, number: int | None, key: str, pattern: str) -> Any:
    if not _is_number(model, name):
        return _matches(getattr(model, name), key, pattern)
    # A whole number matches exactly: order 12 does not find orders 112 and 1203.
    return getattr(model, name) == number if number is not None else None


def _as_number(word: str) -> int | None:
    # Up to 18 digits always fits a BIGINT: never an out-of-range bind on either database.
    return int(word) if word.isascii() and word.isdigit() and len(word) <= 18 else None


def _by_link(columns: Sequence[str]) -> dict[tuple[str, ...], list[str]]:
    """The dotted columns' names grouped by the links that reach them."""
    related: dict[tuple[str, ...], list[str]] = {}
    for path in columns:
        *links, name = path.split(".")
        if links:
            related.setdefault(tuple(links), []).append(name)
    return related


def _word_clause(model: Any, columns: Sequence[str], word: str) -> ColumnElement[bool]:
    number = _as_number(word)
    pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"  # wildcards literal
    # On a list searched by number (orders), a whole number is that number, not digits in a person's key.
    numbered = number is not None and any(_is_number(model, path) for path in columns)
    key = "" if numbered else normalise(word)
    alternatives = [_direct_clause(model, path, number, key, pattern) for path in columns if "." not in path]
    alternatives += [_through_links(model, links, _any_like(names, key, pattern))
                     for links, names in _by_link(columns).items()]
    alternatives = [clause for clause in alternatives if clause is not None]
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
        return _through_links(model, links, lambda target, linked: _attribute(target, name, linked) == _filter_value(
            _attribute(target, name, linked), text))
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path}: {text!r} is not a valid value ({error})") from error
