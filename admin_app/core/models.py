"""Column types and mixins shared by every domain module.

- :class:`UTCDateTime` stores instants in UTC and always hands back timezone-aware values,
  on PostgreSQL (``timestamptz``) and on SQLite (which keeps no offset).
- :class:`JSONType` is the tutorial's JSON-in-text column, done right: new dicts per row
  and in-place changes tracked.
- :class:`TimestampMixin` and :class:`SoftDeleteMixin` are used by the models that need them.
- :class:`VersionedMixin` gives a record a version that every change moves; a *part* (a
  class naming its whole in ``__whole__``: an order item its order, an address its customer)
  moves its whole's version too, so a whole and its parts are one thing to edit
  (:func:`_one_version_per_whole`).
- :class:`DataRuleError` is how a rule of the data refuses a change while the session
  flushes, whatever path made it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import DateTime, Index, Text, event, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import Mapped, RelationshipProperty, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current instant, timezone-aware (``datetime.utcnow`` is naive and deprecated)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite keeps text; a fixed naive-UTC form keeps ORDER BY and comparisons right.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONType(TypeDecorator[Any]):
    """JSON stored as text, so it works the same on SQLite and PostgreSQL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(value)


# A MutableDict notices ``prefs["theme"] = ...`` so in-place edits are saved.
MutableJSONDict = MutableDict.as_mutable(JSONType)


class TimestampMixin:
    """``created_at`` and ``updated_at``, set by the ORM in UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


MAX_MONEY = Decimal("99999999.99")  # the largest value Numeric(10, 2) holds
CENT = Decimal("0.01")
#: The largest INTEGER (every id and whole-number column; PostgreSQL refuses more).
MAX_INTEGER = 2**31 - 1



def to_cents(value: Any) -> Decimal | None:
    """The one rounding of money: an amount in cents (half up), or None for what is no
    amount. A float (SQLite's REAL) is read as SQLAlchemy reads it, to two decimals."""
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(f"{value:.2f}") if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        return None
    return amount.quantize(CENT, rounding=ROUND_HALF_UP) if amount.is_finite() else None


LIVE_ROWS = "deleted_at IS NULL"
DELETED_ROWS = "deleted_at IS NOT NULL"


def _rows_index(name: str, columns: tuple[Any, ...], rows: str) -> Index:
    return Index(name, *columns, "deleted_at", sqlite_where=text(rows), postgresql_where=text(rows))


def live_index(name: str, *columns: Any) -> Index:
    """An index of the live rows only (``WHERE deleted_at IS NULL``, on SQLite and
    PostgreSQL), in a list's default order. ``deleted_at`` comes last so a list query is
    answered from the index alone; the database then knows every entry is live and checks
    nothing per row; ``(deleted_at, order_date, id)`` would compare each entry's
    ``deleted_at`` as it steps over it (figures in bench/README.md)."""
    return _rows_index(name, columns, LIVE_ROWS)


def deleted_index(name: str, *columns: Any) -> Index:
    """The same for the deleted rows (the list's "Deleted only" filter): a few entries,
    where the list would otherwise walk every row in sort order (bench/README.md)."""
    return _rows_index(name, columns, DELETED_ROWS)


#: ``relationship(..., info=PARTS)`` marks a record's collection of parts: a purge removes
#: them with the record (through a secondary table: the links only, as a post's tags), and
#: they do not change while the record is in the trash. Any other row that refers to the
#: record blocks its purge (see ``core.trash``); collections of such rows are declared
#: ``passive_deletes="all"``, so the ORM never nulls or deletes them when the record goes.
PARTS: dict[str, Any] = {"part": True}
#: Parts that are also in the trash with their record: hidden while it is deleted, back with
#: it when it is restored (an order's items; ``core.soft_delete``).
PARTS_IN_ITS_TRASH: dict[str, Any] = {"part": True, "in_its_trash": True}


class SoftDeleteMixin:
    """Rows are marked deleted instead of removed (put in the trash), so orders keep their
    history; every ORM read leaves them out (``core.soft_delete``)."""

    # Indexed per table together with its default sort, as two partial indexes (live_index,
    # deleted_index): nearly every row is live, so an index on deleted_at alone helps no query.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    def soft_delete(self, when: datetime | None = None) -> None:
        if self.deleted_at is None:
            self.deleted_at = when or utcnow()

    def restore(self) -> None:
        self.deleted_at = None

    @hybrid_property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @is_deleted.inplace.expression
    @classmethod
    def _is_deleted_expression(cls) -> ColumnElement[bool]:
        return cls.deleted_at.is_not(None)


class VersionedMixin:
    """Optimistic locking: every UPDATE checks and bumps ``version_id``.

    Two people editing the same record no longer overwrite each other silently: the second
    flush matches no row and raises :class:`sqlalchemy.orm.exc.StaleDataError`.

    ``default=1`` also fills the column for Core inserts (the demo seeding) and the server
    default for rows written with raw SQL or present before the column existed. Core and
    ORM-bulk ``update()`` statements bypass the check; bump ``version_id`` in them yourself.
    A change to a many-to-many collection alone (``post.tags``) writes no row of the record's
    own table, so it does not bump the version either. A change to a *part* of the record
    (a class whose ``__whole__`` names it: an order's items, a customer's addresses) does:
    see :func:`_one_version_per_whole`.

    A model that declares its own ``__mapper_args__`` (``User``, for its polymorphic settings)
    replaces this one and must name the column itself:
    ``"version_id_col": VersionedMixin.version_id``. Subclasses of such a model (``Customer``,
    ``Employee``) inherit the versioning from its mapper and must not name it again.
    """

    version_id: Mapped[int] = mapped_column(nullable=False, default=1, server_default="1")

    # No ``declared_attr`` needed: declarative copies the mixin's column into each class
    # and swaps that copy in for ``version_id_col`` (it does so for mixin columns named in
    # ``version_id_col`` and ``polymorphic_on``), and it copies this dict per class.
    __mapper_args__: dict[str, Any] = {"version_id_col": version_id}


# --- rules of the data, and wholes made of parts ------------------------------------------


class DataRuleError(ValueError):
    """A change that breaks a rule of the data (the order life cycle, one default address per
    customer). Raised while the session flushes, before anything is written, so the admin
    form, an inline row, a part's own page, a bulk action, the CLI and plain ORM code are all
    refused alike. ``field`` names the attribute the message is about, so a form can show it
    on that field; ``line`` narrows it to one part among many, as ``(reference, id, field)``:
    the line (an order's item) whose ``reference`` (its product) has that id, on its ``field``
    (quantity); a form without such a line shows it on ``field``."""

    def __init__(self, message: str, field: str | None = None,
                 line: tuple[str, Any, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.line = line


def committed_value(session: Session, record: Any, key: str) -> Any:
    """What column attribute ``key`` of ``record`` holds in the database before this flush:
    its loaded value when unchanged, its previous value when changed, or (changed without the
    old value ever being loaded: set on an expired record) the row's value, read now. None
    for a record not yet inserted."""
    state = sa_inspect(record)
    history = state.attrs[key].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    if state.key is None:
        return None
    if not history.added:  # not loaded (expired): loading it gives the stored value
        return getattr(record, key)
    mapper = state.mapper
    where = [column == value for column, value in zip(mapper.primary_key, state.key[1], strict=True)]
    connection = session.connection(bind_arguments={"mapper": mapper})
    return connection.scalar(select(mapper.column_attrs[key].columns[0]).where(*where))


def whole_relationship(cls: type) -> RelationshipProperty[Any] | None:
    """The many-to-one relationship from a part to its whole, as the part's class names it
    in ``__whole__`` (``OrderItem.__whole__ = "order"``); None for a class that is no part."""
    key = getattr(cls, "__whole__", None)
    return None if key is None else sa_inspect(cls).relationships[key]


def wholes_of(session: Session, part: Any) -> list[Any]:
    """The wholes a part being flushed belongs to: its whole now and, if this flush moves it
    (``item.order = other`` or ``item.order_id = 7``), the one it leaves. Loads a whole that
    is not in the session yet."""
    relationship = whole_relationship(type(part))
    if relationship is None:
        return []
    state = sa_inspect(part)
    wholes: list[Any] = []

    def add(whole: Any) -> None:
        if whole is not None and not any(whole is known for known in wholes):
            wholes.append(whole)

    history = state.attrs[relationship.key].history
    for whole in (*history.added, *history.unchanged, *history.deleted):
        add(whole)
    (column,) = relationship.local_columns
    foreign_key = state.mapper.get_property_by_column(column).key
    for whole_id in (committed_value(session, part, foreign_key), state.dict.get(foreign_key)):
        if whole_id is not None:
            add(session.get(relationship.mapper.class_, whole_id))
    return wholes


def changed_parts(session: Session) -> list[Any]:
    """Parts (records of a class with ``__whole__``) this flush inserts, changes or deletes.
    A part's own one-to-many collections (the orders shipped to an address) are not part of
    it, so a change to them alone does not count."""
    deleted = set(session.deleted)
    parts = [record for record in (*session.new, *deleted) if whole_relationship(type(record)) is not None]
    parts += [record for record in session.dirty
              if record not in deleted and whole_relationship(type(record)) is not None
              and session.is_modified(record, include_collections=False)]
    return parts


def move_version(session: Session, record: Any) -> None:
    """Make this flush write ``record`` with its next version (an UPDATE checked against the
    version it had, as for any change of its own), unless it is new, being deleted, or its
    version already moves in this flush."""
    state = sa_inspect(record)
    version_column = state.mapper.version_id_col
    if version_column is None or state.key is None or record in session.deleted:
        return
    key = state.mapper.get_property_by_column(version_column).key
    if state.attrs[key].history.added:
        return
    setattr(record, key, getattr(record, key) + 1)


@event.listens_for(Session, "before_flush")
def _one_version_per_whole(session: Session, flush_context: Any, instances: Any) -> None:
    """A change to a part through any path (its own admin page, a bulk action, the CLI, plain
    ORM code) is a change to its whole: the whole's version moves in the same flush. A form of
    the whole opened before is then stale (see ``ShopModelView.validate_form``), and a flush
    of the whole racing one of its parts fails on the version check (``StaleDataError``)."""
    wholes: list[Any] = []
    for part in changed_parts(session):
        wholes.extend(whole for whole in wholes_of(session, part) if not any(whole is w for w in wholes))
    for whole in wholes:
        move_version(session, whole)
