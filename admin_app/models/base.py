"""Column types and mixins shared by every domain module.

- :class:`UTCDateTime` stores instants in UTC and always hands back timezone-aware values,
  on PostgreSQL (``timestamptz``) and on SQLite (which keeps no offset).
- :class:`JSONType` is the tutorial's JSON-in-text column, done right: new dicts per row
  and in-place changes tracked.
- :class:`TimestampMixin` and :class:`SoftDeleteMixin` are used by the models that need them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Index, Text, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import Mapped, mapped_column
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


LIVE_ROWS = "deleted_at IS NULL"
DELETED_ROWS = "deleted_at IS NOT NULL"


def _rows_index(name: str, columns: tuple[Any, ...], rows: str) -> Index:
    return Index(name, *columns, "deleted_at", sqlite_where=text(rows), postgresql_where=text(rows))


def live_index(name: str, *columns: Any) -> Index:
    """An index of the live rows only (``WHERE deleted_at IS NULL``, on SQLite and
    PostgreSQL), in a list's default order. ``deleted_at`` comes last so a list query is
    answered from the index alone; the database then knows every entry is live and checks
    nothing per row. Paging 100,000 rows deep into the order list costs 0.8 ms on SQLite
    this way, against 2.9 ms with ``(deleted_at, order_date, id)``, which compares each
    entry's ``deleted_at`` as it steps over it."""
    return _rows_index(name, columns, LIVE_ROWS)


def deleted_index(name: str, *columns: Any) -> Index:
    """The same for the deleted rows (the list's "Deleted only" filter): a few entries,
    where the list would otherwise walk every row in sort order (84 ms for orders)."""
    return _rows_index(name, columns, DELETED_ROWS)


#: ``relationship(..., info=PARTS)`` marks a record's collection of parts: a purge removes
#: them with the record (through a secondary table: the links only, as a post's tags), and
#: they do not change while the record is in the trash. Any other row that refers to the
#: record blocks its purge (see ``services.trash``); collections of such rows are declared
#: ``passive_deletes="all"``, so the ORM never nulls or deletes them when the record goes.
PARTS: dict[str, Any] = {"part": True}
#: Parts that are also in the trash with their record: hidden while it is deleted, back with
#: it when it is restored (an order's items; ``models.soft_delete``).
PARTS_IN_ITS_TRASH: dict[str, Any] = {"part": True, "in_its_trash": True}


class SoftDeleteMixin:
    """Rows are marked deleted instead of removed (put in the trash), so orders keep their
    history; every ORM read leaves them out (``models.soft_delete``)."""

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
    own table, so it does not bump the version either.

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
