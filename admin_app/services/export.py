"""The export engine: CSV and XLSX downloads of any entity, independent of Flask views.

Pieces, each usable on its own:

- :class:`ExportColumn` says what a column shows (a label, an attribute path such as
  ``"user.username"`` or a callable, and a *kind* that drives formatting).
- :class:`ExportSpec` bundles an entity's default columns, search columns and sort; the
  registry :data:`EXPORTS` holds one per entity and :func:`build_statement` turns a spec
  (plus a search text and extra filters) into a ``Select``. Soft-deleted rows never appear.
- :func:`iter_rows` runs a statement in batches over a server-side cursor in its **own**
  session, so it keeps working after Flask has torn down the request's app context (Flask
  >= 3.1.2 does that before a streamed body is generated). Relationships named by dotted
  column paths are eager-loaded in the same batched queries: the number of SQL statements
  does not grow with the number of rows.
- :func:`format_cell` is the one formatting rule shared by both formats, including the
  formula-injection guard (text starting with ``= + - @ \\t \\r`` or ``'`` gets a leading
  ``'``; in XLSX the cell's quote-prefix style instead).
- :func:`csv_stream` yields UTF-8 (with BOM) CSV in ~64 KB chunks (plain rows straight from
  :func:`iter_rows` are formatted a batch at a time, see there); :func:`xlsx_write`
  writes a write-only openpyxl workbook with typed cells, capped at Excel's row limit.

Typical use (what the ``export`` command and the admin views do)::

    spec = EXPORTS["order"]
    statement = build_statement(spec, search="alice")
    rows = iter_rows(db.engine, statement, spec.columns)
    for chunk in csv_stream(rows, spec.columns):
        out.write(chunk)

In a view, build everything while the request is alive and hand the generator over; do
not wrap it in ``stream_with_context`` (it needs nothing from the context)::

    rows = iter_rows(db.engine, build_statement(spec, search=q), spec.columns)  # db.engine now
    return Response(csv_stream(rows, spec.columns), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="orders.csv"'})
"""

from __future__ import annotations

import codecs
import csv
import inspect as pyinspect
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from operator import call
from typing import IO, Any, Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import Boolean, Connection, Engine, Numeric, Select, case, func, inspect, null, or_, select, type_coerce
from sqlalchemy.engine.cursor import CursorFetchStrategy
from sqlalchemy.ext.hybrid import HybridExtensionType
from sqlalchemy.orm import Session, aliased, joinedload, selectinload
from sqlalchemy.sql import operators
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from admin_app.models import (
    Address,
    AuditLog,
    CartItem,
    Category,
    Comment,
    Customer,
    Employee,
    Order,
    OrderItem,
    Post,
    Product,
    Tag,
)
from admin_app.models.base import UTCDateTime
from admin_app.models.soft_delete import live_rows_clause

Kind = Literal["text", "money", "int", "datetime", "date", "bool"]
KINDS: tuple[Kind, ...] = ("text", "money", "int", "datetime", "date", "bool")

#: Characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Text starting with any of these gets a leading ``'``: the formula characters, and ``'``
#: itself, so an import can take exactly one ``'`` off every text that starts with one.
QUOTED_PREFIXES = (*FORMULA_PREFIXES, "'")
#: Excel's sheet limit is 1,048,576 rows including the header row.
XLSX_MAX_ROWS = 1_048_576
#: Excel refuses (then "repairs") cells holding more characters than this.
XLSX_MAX_CELL_CHARS = 32_767
CSV_CHUNK_CHARS = 64 * 1024
_CSV_ROW_GUESS = 256  # characters per CSV row, until rows have been written
DEFAULT_BATCH_SIZE = 1000
CENT = Decimal("0.01")
MONEY_SQL = Numeric(12, 2)  # sums of Numeric(10, 2) can exceed 10 digits


# --------------------------------------------------------------------------- columns


Getter = Callable[[Any], Any]
#: How a column is selected in SQL: ``lambda: Product.price`` or, to reach related rows
#: through the statement's own (aliased, outer) joins, ``lambda at: at("product.price") * 2``.
SqlSource = Callable[..., Any]


@dataclass(frozen=True)
class ExportColumn:
    """One exported column.

    ``source`` is an attribute path (``"user.username"``; a ``None`` link gives ``None``;
    a collection such as ``"tags.name"`` gives its values joined by ``", "``) or a callable
    taking the row's object. Both see the statement's extra labelled columns (such as an
    order's ``subtotal_amount``) as attributes too. Only dotted paths are eager-loaded
    automatically; a callable that follows relationships needs them in ``ExportSpec.eager``.

    ``sql`` says how to select the column in the plain-row (Core) export, when the default
    derived from ``source`` does not fit: a callable returning a SQL expression, taking
    either no argument or ``at``, the statement's resolver (``at("product.price")`` is the
    column of the outer-joined, aliased product). Without it, a string ``source`` is
    translated automatically (see :func:`build_statement`); a callable ``source`` without
    ``sql`` makes the whole spec use the ORM path.
    """

    label: str
    source: str | Getter
    kind: Kind = "text"
    sql: SqlSource | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}; expected one of {KINDS}")

    @property
    def header(self) -> str:
        """The header shown to users; datetimes are exported in UTC and say so."""
        return f"{self.label} (UTC)" if self.kind == "datetime" else self.label

    @property
    def path(self) -> str | None:
        return self.source if isinstance(self.source, str) else None

    def getter(self) -> Getter:
        if callable(self.source):
            return self.source
        return _path_getter(self.source.split("."))


def _path_getter(parts: list[str]) -> Getter:
    def get(obj: Any) -> Any:
        return _follow(obj, parts)

    return get


def _follow(obj: Any, parts: Sequence[str]) -> Any:
    for index, part in enumerate(parts):
        if obj is None:
            return None
        if isinstance(obj, (list, tuple, set)):
            # A collection along the path: one cell listing every member's value.
            values = (_follow(member, parts[index:]) for member in obj)
            return ", ".join(str(value) for value in values if value is not None)
        obj = getattr(obj, part)
    if isinstance(obj, (list, tuple, set)):
        return ", ".join(str(member) for member in obj)
    return obj


class _RowView:
    """The row's entity, with the statement's extra labelled columns as attributes."""

    __slots__ = ("_entity", "_extras")

    def __init__(self, entity: Any, extras: dict[str, Any]) -> None:
        self._entity = entity
        self._extras = extras

    def __getattr__(self, name: str) -> Any:
        extras = object.__getattribute__(self, "_extras")
        if name in extras:
            return extras[name]
        return getattr(object.__getattribute__(self, "_entity"), name)


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ExportSpec:
    """An entity's export: default columns, search, sort, eager loads and base statement.

    - ``search_columns``: attribute paths matched case-insensitively as substrings, OR-ed.
      A path through a many-to-one relationship (``"user.email"``) becomes
      ``user_id IN (SELECT id FROM users WHERE ...)``, one subquery per relationship, so a
      search never scans a join; through a collection it becomes ``EXISTS``.
    - ``search_by_id``: a numeric search text also matches the primary key.
    - ``default_sort``: a callable returning ORDER BY clauses (newest first where the
      entity has a date, else by id); the primary key is always added as a tie-breaker.
    - ``eager``: relationship paths to load besides those implied by dotted column paths.
    - ``base``: builds the ``select(model, *extra labelled columns)`` (for computed columns
      such as order totals); defaults to ``select(model)``. ORM path only.
    - ``computed``: for the plain-row (Core) path, SQL for attribute names that the model
      computes in Python or with correlated subqueries: called with the statement builder
      (:class:`CoreSelect`, which can add outer joins), returns ``{name: expression}``; a
      column path or a sort key naming one of them selects that expression. Order totals
      come from one grouped subquery over ``order_items`` this way.
    """

    model: type
    columns: tuple[ExportColumn, ...]
    search_columns: tuple[str, ...] = ()
    search_by_id: bool = True
    default_sort: Callable[[], Sequence[ColumnElement[Any]]] | None = None
    eager: tuple[str, ...] = ()
    base: Callable[[], Select[Any]] | None = None
    title: str = ""
    computed: Callable[[CoreSelect], dict[str, Any]] | None = None

    @property
    def name(self) -> str:
        return self.title or self.model.__name__

    @property
    def plain_rows(self) -> bool:
        """Whether every column can be selected in SQL, so exports read plain rows (no ORM
        objects): see :func:`build_statement`."""
        cached = self.__dict__.get("_plain_rows")
        if cached is None:
            try:
                core = CoreSelect(self, where=())
                for column in self.columns:
                    core.column(column)
                cached = True
            except NotSelectable:
                cached = False
            object.__setattr__(self, "_plain_rows", cached)
        return cached

    def loader_options(self) -> list[ExecutableOption]:
        """Eager loads for every relationship that a column path or ``eager`` goes through."""
        paths = [c.path.split(".")[:-1] for c in self.columns if c.path and "." in c.path]
        paths += [p.split(".") for p in self.eager]
        return _loader_options(self.model, paths)


def _loader_options(model: type, paths: Iterable[Sequence[str]]) -> list[ExecutableOption]:
    options: list[ExecutableOption] = []
    seen: set[tuple[str, ...]] = set()
    for path in paths:
        mapper = inspect(model)
        option: Any = None
        walked: list[str] = []
        for part in path:
            relationship = mapper.relationships.get(part)
            if relationship is None:
                break  # a plain or hybrid attribute: nothing more to load
            walked.append(part)
            attribute = getattr(mapper.class_, part)
            # Collections by SELECT ... IN (one query per batch: joined collections cannot
            # be combined with yield_per); many-to-one by JOIN in the main query.
            if relationship.uselist:
                option = selectinload(attribute) if option is None else option.selectinload(attribute)
            else:
                option = joinedload(attribute) if option is None else option.joinedload(attribute)
            mapper = relationship.mapper
        if option is not None and tuple(walked) not in seen:
            seen.add(tuple(walked))
            options.append(option)
    return options


def _where_clauses(spec: ExportSpec, search: str | None, extra_where: Iterable[ColumnElement[bool]],
                   include_deleted: bool = False) -> tuple[list[ColumnElement[bool]], list[ColumnElement[bool]]]:
    """(every WHERE clause, those that narrow the rows down beyond "not deleted")."""
    model: Any = spec.model
    narrowing: list[ColumnElement[bool]] = list(extra_where)
    if search is not None and search.strip():
        narrowing.append(search_clause(spec, search.strip()))
    clauses = list(narrowing)
    # Plain rows are read on a Connection, where the trash rule's ORM criteria do not
    # reach: the same predicate, from the rule itself (an order item's is its order's).
    live = None if include_deleted else live_rows_clause(model)
    if live is not None:
        clauses.append(live)
    return clauses, narrowing


def search_clause(spec: ExportSpec, text: str) -> ColumnElement[bool]:
    """The OR of every search column matching ``text`` (case-insensitive substring)."""
    model: Any = spec.model
    mapper = inspect(model)
    alternatives: list[ColumnElement[bool]] = []
    # Group paths by their relationship so "user.username OR user.email" is one subquery.
    by_relationship: dict[str, list[str]] = {}
    for path in spec.search_columns:
        head, _, rest = path.partition(".")
        if rest:
            by_relationship.setdefault(head, []).append(rest)
        else:
            alternatives.append(getattr(model, head).icontains(text, autoescape=True))
    for name, rests in by_relationship.items():
        relationship = mapper.relationships[name]
        target: Any = relationship.mapper.class_
        # The table's columns, not the mapped attributes: a reference matches in the trash
        # or not (the trash rule's criteria follow mapped entities), as the list's search does.
        columns = relationship.mapper.columns
        matches = or_(*((columns[rest] if rest in columns else getattr(target, rest)).icontains(text, autoescape=True)
                        for rest in rests))
        if relationship.uselist:
            alternatives.append(getattr(model, name).any(matches))
        else:
            ((local, remote),) = relationship.local_remote_pairs
            alternatives.append(local.in_(select(remote).where(matches)))
    # Up to 18 digits always fits a BIGINT: never an out-of-range bind on PostgreSQL.
    if spec.search_by_id and text.isdigit() and len(text) <= 18:
        (primary_key,) = mapper.primary_key
        alternatives.append(primary_key == int(text))
    return or_(*alternatives) if alternatives else or_(False)


# --------------------------------------------------------------------------- plain rows (Core)


class _ExportUTCDateTime(UTCDateTime):
    """:class:`UTCDateTime` read faster on SQLite: the stored text
    (``2026-11-25 14:53:56.000000``) parsed straight into the same aware UTC datetime
    (one C call instead of a regex parse plus a Python ``replace``). Anything else takes
    the column type's own result processing."""

    cache_ok = True

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        standard = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite":
            return standard
        parse = datetime.fromisoformat

        def process(value: Any) -> Any:
            if type(value) is str and len(value) == 26 and value[10] == " ":
                try:
                    return parse(value + "+00:00")
                except ValueError:
                    pass
            return standard(value) if standard is not None else value

        return process


_FAST_UTC_DATETIME = _ExportUTCDateTime()


class NotSelectable(Exception):
    """A column (or sort key) that SQL cannot compute: the spec falls back to ORM objects."""


#: Marks a statement built for plain rows: :func:`iter_rows` then reads tuples, in column order.
PLAIN_ROWS_OPTION = "export_plain_rows"


class CoreSelect:
    """Builds the SELECT of a plain-row export: one expression per column, no ORM objects.

    - ``at("price")`` is a column of the model; a hybrid (``"total"``, ``"is_in_stock"``,
      ``"full_name"``) selects its SQL expression; a name in the spec's ``computed`` selects
      that expression instead.
    - ``at("user.username")`` outer-joins the relationship once, to an ``aliased()`` target
      (so ``parent.name`` on categories or two paths to ``users`` never clash), and selects
      the alias's column. Through a link that is ``None`` every value is ``NULL`` (so a hybrid
      such as ``product.is_deleted`` is empty, as on the ORM path, not "no").
    - Collections (``tags.name``), relationships as values (``"user"``) and plain Python
      properties raise :class:`NotSelectable`.

    ``where`` holds the export's WHERE clauses and ``narrowing`` those beyond "not deleted"
    (search, filters, a view's id restriction): :meth:`ids` turns them into a subquery that
    a ``computed`` hook can push into its own grouped subquery.
    """

    def __init__(self, spec: ExportSpec, where: Sequence[ColumnElement[bool]] = (),
                 narrowing: Sequence[ColumnElement[bool]] = (), computed: bool = True) -> None:
        self.spec = spec
        self.model: Any = spec.model
        self.where = list(where)
        self.narrowing = list(narrowing)
        self._entities: dict[tuple[str, ...], Any] = {(): spec.model}
        self.joins: list[tuple[Any, Any, Any]] = []  # (left, target, onclause), in order
        self.computed: dict[str, Any] = dict(spec.computed(self)) if spec.computed and computed else {}

    def outerjoin(self, target: Any, onclause: Any, left: Any = None) -> None:
        """Add ``LEFT OUTER JOIN target ON onclause`` (from the model unless ``left``)."""
        self.joins.append((self.model if left is None else left, target, onclause))

    def ids(self) -> Select[Any] | None:
        """``SELECT model.pk WHERE <all clauses>`` if the export is narrowed down, else None."""
        if not self.narrowing:
            return None
        (primary_key,) = inspect(self.model).primary_key
        return select(primary_key).where(*self.where).correlate(None)

    def entity(self, path: Sequence[str]) -> Any:
        """The (aliased, outer-joined) entity at the end of a relationship path."""
        key = tuple(path)
        if key in self._entities:
            return self._entities[key]
        parent = self.entity(key[:-1])
        relationship = inspect(parent).mapper.relationships.get(key[-1])
        if relationship is None:
            raise NotSelectable(f"{'.'.join(key)!r} is not a relationship of {self.model.__name__}")
        if relationship.uselist:
            raise NotSelectable(f"{'.'.join(key)!r} is a collection")
        target = aliased(relationship.mapper.class_)
        self.outerjoin(target, getattr(parent, key[-1]).of_type(target), left=parent)
        self._entities[key] = target
        return target

    def at(self, path: str) -> Any:
        """The SQL expression of an attribute path (see the class docs)."""
        *links, name = path.split(".")
        if not links and name in self.computed:
            return self.computed[name]
        entity = self.entity(links)
        mapper = inspect(entity).mapper
        if name in mapper.relationships:
            raise NotSelectable(f"{path!r} is a relationship, not a value")
        if name in mapper.column_attrs:
            return getattr(entity, name)
        descriptor = mapper.all_orm_descriptors.get(name)
        if getattr(descriptor, "extension_type", None) is not HybridExtensionType.HYBRID_PROPERTY:
            raise NotSelectable(f"{path!r} is computed in Python")
        expression = getattr(entity, name)
        if links:
            # A hybrid's expression may be non-NULL for a missing row ("IS NOT NULL" is false).
            (primary_key,) = mapper.primary_key
            missing = getattr(entity, mapper.get_property_by_column(primary_key).key).is_(None)
            expression = case((missing, null()), else_=expression)
        return expression

    def column(self, column: ExportColumn) -> Any:
        """The expression selected for ``column`` (its ``sql``, else its path)."""
        if column.sql is not None:
            takes_at = bool(pyinspect.signature(column.sql).parameters)
            expression = column.sql(self.at) if takes_at else column.sql()
        elif column.path is None:
            raise NotSelectable(f"column {column.label!r} is computed in Python")
        else:
            expression = self.at(column.path)
        element = expression.__clause_element__() if hasattr(expression, "__clause_element__") else expression
        if isinstance(getattr(element, "type", None), UTCDateTime):
            expression = type_coerce(expression, _FAST_UTC_DATETIME)
        return expression

    def sort_clause(self, key: Any) -> Any:
        """An ORDER BY clause from a ``(path, descending)`` pair; other clauses pass through."""
        if isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str):
            expression = self.at(key[0])
            return expression.desc() if key[1] else expression.asc()
        return key

    def apply_joins(self, statement: Select[Any]) -> Select[Any]:
        for left, target, onclause in self.joins:
            statement = statement.outerjoin_from(left, target, onclause)
        return statement


def _sort_clauses(spec: ExportSpec, order_by: Sequence[Any] | None) -> list[Any]:
    model: Any = spec.model
    (primary_key,) = inspect(model).primary_key
    if order_by is None:
        order_by = list(spec.default_sort()) if spec.default_sort else [primary_key]
    clauses = list(order_by)
    # A unique tie-breaker makes the order (and so the file) the same on every database.
    if not any(primary_key in _base_columns(clause) for clause in clauses):
        descending = bool(clauses) and getattr(clauses[0], "modifier", None) is operators.desc_op
        clauses.append(primary_key.desc() if descending else primary_key.asc())
    return clauses


def _base_columns(clause: Any) -> set[Any]:
    """The table columns behind an ORDER BY clause (``Order.id``, ``Order.id.desc()``)."""
    element = clause.__clause_element__() if hasattr(clause, "__clause_element__") else clause
    element = getattr(element, "element", element)
    return set(getattr(element, "proxy_set", ()))


def build_statement(spec: ExportSpec, search: str | None = None,
                    extra_where: Iterable[ColumnElement[bool]] = (),
                    order_by: Sequence[Any] | None = None, *, include_deleted: bool = False,
                    plain_rows: bool | None = None) -> Select[Any]:
    """The ``Select`` an export runs: live rows only, search, filters, sort.

    ``extra_where`` adds filters (a view's active filters, or ``Model.id IN (<the list's
    query>)``: give such a subquery ``.correlate(None)``); ``order_by`` replaces the default
    sort, each item a clause (``Product.price.desc()``) or a ``(path, descending)`` pair
    (``("user.username", False)``, resolved like a column path); the primary key is always
    appended as a tie-breaker. ``include_deleted`` leaves out ``deleted_at IS NULL`` (for an
    ``extra_where`` that already decides, such as the list's own query).

    Specs whose columns all have SQL (:attr:`ExportSpec.plain_rows`) get a **plain-row**
    statement: one expression per column, relationships as outer joins to aliases, computed
    columns from the spec's ``computed`` hook; :func:`iter_rows` reads tuples from it with
    no ORM object at all. Others (``plain_rows=False`` forces it) get ``select(model)`` with
    eager loads, read through the ORM.
    """
    if plain_rows and not spec.plain_rows:
        raise ValueError(f"the {spec.name} export has columns computed in Python")
    where, narrowing = _where_clauses(spec, search, extra_where, include_deleted)
    use_plain_rows = spec.plain_rows if plain_rows is None else plain_rows
    core = CoreSelect(spec, where, narrowing, computed=use_plain_rows)
    if use_plain_rows:
        selected = [core.column(column).label(f"c{index}") for index, column in enumerate(spec.columns)]
        sort = _sort_clauses(spec, [core.sort_clause(key) for key in order_by] if order_by is not None else None)
        statement = core.apply_joins(select(*selected).select_from(spec.model))
        statement = statement.where(*where) if where else statement
        return statement.order_by(*sort).execution_options(**{PLAIN_ROWS_OPTION: True})
    sort = _sort_clauses(spec, [core.sort_clause(key) for key in order_by] if order_by is not None else None)
    statement = core.apply_joins(spec.base() if spec.base else select(spec.model))
    if where:
        statement = statement.where(*where)
    return statement.order_by(*sort).options(*spec.loader_options())


def count_statement(spec: ExportSpec, search: str | None = None,
                    extra_where: Iterable[ColumnElement[bool]] = ()) -> Select[tuple[int]]:
    """``SELECT count(*)`` of the rows :func:`build_statement` would export (without the
    computed columns' joins, which do not change the count)."""
    statement = select(func.count()).select_from(spec.model)
    where, _narrowing = _where_clauses(spec, search, extra_where)
    return statement.where(*where) if where else statement


def _order_totals(core: CoreSelect) -> dict[str, Any]:
    """Subtotal and total straight from the order row (``items_subtotal`` is kept current
    by the models): no pass over a million order items."""
    subtotal = type_coerce(Order.items_subtotal, MONEY_SQL)
    return {"subtotal": subtotal, "total": type_coerce(Order.items_subtotal + Order.shipping_fee, MONEY_SQL)}


def _col(label: str, source: str | Getter, kind: Kind = "text") -> ExportColumn:
    return ExportColumn(label, source, kind)


#: Every exportable entity, by the name the CLI and the views use.
EXPORTS: dict[str, ExportSpec] = {
    "order": ExportSpec(
        model=Order,
        title="orders",
        computed=_order_totals,
        columns=(
            _col("ID", "id", "int"),
            _col("Order date", "order_date", "datetime"),
            _col("Status", "status"),
            _col("Customer", "user.username"),
            _col("Customer name", "user.full_name"),
            _col("Email", "user.email"),
            _col("Customer deleted", "user.is_deleted", "bool"),
            _col("Subtotal", "subtotal", "money"),
            _col("Shipping fee", "shipping_fee", "money"),
            _col("Total", "total", "money"),
        ),
        search_columns=("status", "user.username", "user.email"),
        default_sort=lambda: (Order.order_date.desc(), Order.id.desc()),
    ),
    "orderitem": ExportSpec(
        model=OrderItem,
        title="order items",
        columns=(
            _col("ID", "id", "int"),
            _col("Order", "order_id", "int"),
            _col("Order date", "order.order_date", "datetime"),
            _col("Product", "product.name"),
            _col("SKU", "product.sku"),
            # History stays readable: a product deleted since is still named, and marked.
            _col("Product deleted", "product.is_deleted", "bool"),
            _col("Quantity", "quantity", "int"),
            _col("Unit price", "price", "money"),
            _col("Subtotal", "subtotal", "money"),
        ),
        search_columns=("product.name", "product.sku"),
        default_sort=lambda: (OrderItem.id.desc(),),
    ),
    "product": ExportSpec(
        model=Product,
        title="products",
        columns=(
            _col("ID", "id", "int"),
            _col("SKU", "sku"),
            _col("Name", "name"),
            _col("Category", "category.name"),
            _col("Price", "price", "money"),
            _col("Stock", "stock", "int"),
            _col("In stock", "is_in_stock", "bool"),
            _col("Created", "created_at", "datetime"),
        ),
        search_columns=("name", "sku"),
        default_sort=lambda: (Product.created_at.desc(), Product.id.desc()),
    ),
    "category": ExportSpec(
        model=Category,
        title="categories",
        columns=(
            _col("ID", "id", "int"),
            _col("Name", "name"),
            _col("Parent", "parent.name"),
            _col("Description", "description"),
            _col("Created", "created_at", "datetime"),
        ),
        search_columns=("name", "description"),
        default_sort=lambda: (Category.created_at.desc(), Category.id.desc()),
    ),
    "customer": ExportSpec(
        model=Customer,
        title="customers",
        columns=(
            _col("ID", "id", "int"),
            _col("Username", "username"),
            _col("Email", "email"),
            _col("First name", "first_name"),
            _col("Last name", "last_name"),
            _col("Loyalty points", "loyalty_points", "int"),
            _col("Created", "created_at", "datetime"),
        ),
        search_columns=("username", "email", "first_name", "last_name"),
        default_sort=lambda: (Customer.created_at.desc(), Customer.id.desc()),
    ),
    "address": ExportSpec(
        model=Address,
        title="addresses",
        columns=(
            _col("ID", "id", "int"),
            _col("Customer", "user.username"),
            _col("Street", "street"),
            _col("ZIP code", "zip_code"),
            _col("City", "city"),
            _col("State", "state"),
            _col("Country", "country"),
            _col("Default", "is_default", "bool"),
            _col("Created", "created_at", "datetime"),
        ),
        search_columns=("street", "city", "zip_code", "country", "user.username"),
        default_sort=lambda: (Address.created_at.desc(), Address.id.desc()),
    ),
    "post": ExportSpec(
        model=Post,
        title="posts",
        columns=(
            _col("ID", "id", "int"),
            _col("Title", "title"),
            _col("Status", "status"),
            _col("Author", "author.username"),
            _col("Category", "category.name"),
            _col("Tags", "tags.name"),
            _col("Published", "published_at", "datetime"),
            _col("Created", "created_at", "datetime"),
        ),
        search_columns=("title", "content"),
        default_sort=lambda: (Post.created_at.desc(), Post.id.desc()),
    ),
    "comment": ExportSpec(
        model=Comment,
        title="comments",
        columns=(
            _col("ID", "id", "int"),
            _col("Post", "post.title"),
            _col("Author", "author_name"),
            _col("User", "user.username"),
            _col("Comment", "body"),
            _col("Approved", "is_approved", "bool"),
            _col("Created", "created_at", "datetime"),
        ),
        search_columns=("author_name", "body"),
        default_sort=lambda: (Comment.created_at.desc(), Comment.id.desc()),
    ),
    # The change history (admins only in the back office); secrets never reach it.
    "auditlog": ExportSpec(
        model=AuditLog,
        title="history",
        columns=(
            _col("ID", "id", "int"),
            _col("When", "created_at", "datetime"),
            _col("By", "actor_label"),
            _col("Action", "action"),
            _col("Type", "entity_type"),
            _col("Record id", "entity_id"),
            _col("Record", "entity_label"),
            _col("Changes", lambda entry: json.dumps(entry.changes, ensure_ascii=False, sort_keys=True)),
        ),
        search_columns=("entity_id", "entity_label"),
        search_by_id=False,
        default_sort=lambda: (AuditLog.created_at.desc(), AuditLog.id.desc()),
    ),
    # Back-office accounts: never the password hash or session data.
    "employee": ExportSpec(
        model=Employee,
        title="employees",
        columns=(
            _col("ID", "id", "int"),
            _col("Username", "username"),
            _col("Name", "full_name"),
            _col("Email", "email"),
            _col("Role", "role"),
            _col("Active", "is_active", "bool"),
            _col("Department", "department"),
            _col("Created", "created_at", "datetime"),
        ),
        search_columns=("username", "email", "first_name", "last_name"),
        default_sort=lambda: (Employee.created_at.desc(),),
    ),
    "tag": ExportSpec(
        model=Tag,
        title="tags",
        columns=(_col("ID", "id", "int"), _col("Name", "name")),
        search_columns=("name",),
        default_sort=lambda: (Tag.id.asc(),),
    ),
    "cartitem": ExportSpec(
        model=CartItem,
        title="cart items",
        columns=(
            _col("ID", "id", "int"),
            _col("Customer", "user.username"),
            _col("Product", "product.name"),
            _col("SKU", "product.sku"),
            # History stays readable: a product deleted since is still named, and marked.
            _col("Product deleted", "product.is_deleted", "bool"),
            _col("Quantity", "quantity", "int"),
            _col("Unit price", "product.price", "money"),
            # The joined product's price, not the hybrid's correlated subquery per row.
            ExportColumn("Subtotal", "subtotal", "money", sql=lambda at: at("product.price") * at("quantity")),
            _col("Added", "added_at", "datetime"),
        ),
        search_columns=("user.username", "product.name", "product.sku"),
        default_sort=lambda: (CartItem.added_at.desc(), CartItem.id.desc()),
    ),
}


# --------------------------------------------------------------------------- rows


Bind = Engine | Connection | Callable[[], Session]


def iter_rows(bind: Bind, statement: Select[Any], columns: Sequence[ExportColumn],
              batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[tuple[Any, ...]]:
    """Yield one tuple of raw Python values per row of ``statement``, ``batch_size`` rows
    at a time over a server-side cursor.

    ``bind`` is an ``Engine`` (e.g. ``db.engine``, read while the app context still exists),
    a ``Connection``, or a session factory. The generator opens its own session and closes
    it in ``finally`` -- when exhausted, on error, and when closed early (a client that
    disconnects makes the WSGI server call ``close()``: ``GeneratorExit``). It never touches
    Flask's scoped session or app context.

    For a plain-row statement the iterator is a :class:`_PlainRows`: iterated, it gives
    typed tuples like any other (XLSX needs them); handed unstarted to :func:`csv_stream`,
    it is read as CSV text instead, straight from the DBAPI cursor on SQLite and formatted
    a batch and a column at a time -- the same bytes, without the per-cell Python work.
    Wrapping it in another generator keeps the output and loses that fast path.
    """
    if statement.get_execution_options().get(PLAIN_ROWS_OPTION):
        return _PlainRows(bind, statement, len(columns), batch_size)
    return _iter_orm_rows(bind, statement, columns, batch_size)


def _iter_orm_rows(bind: Bind, statement: Select[Any], columns: Sequence[ExportColumn],
                   batch_size: int) -> Iterator[tuple[Any, ...]]:
    getters = [column.getter() for column in columns]
    session = Session(bind=bind) if isinstance(bind, (Engine, Connection)) else bind()
    try:
        # yield_per implies stream_results: a server-side cursor on PostgreSQL, and eager
        # loads (selectinload) run once per batch instead of once per row.
        result = session.execute(statement.execution_options(yield_per=batch_size))
        try:
            extra_keys = list(result.keys())[1:]
            for partition in result.partitions():
                for row in partition:
                    target: Any = row[0]
                    if extra_keys:
                        target = _RowView(row[0], dict(zip(extra_keys, row[1:], strict=True)))
                    yield tuple(get(target) for get in getters)
        finally:
            result.close()
    finally:
        session.close()


class _PlainRows:
    """What :func:`iter_rows` returns for a plain-row statement: an iterator of tuples of
    typed values (as the ORM would give them; what :func:`xlsx_write` needs), that
    :func:`csv_stream` may instead read as ready-made CSV text, batch by batch
    (:meth:`csv_batches`). Nothing runs before the first ``next()``; ``close()`` gives the
    connection back at any time."""

    __slots__ = ("_rows", "batch_size", "bind", "statement", "width")

    def __init__(self, bind: Bind, statement: Select[Any], width: int, batch_size: int) -> None:
        if len(statement.selected_columns) != width:
            raise ValueError(f"the statement selects {len(statement.selected_columns)} columns, not {width}")
        self.bind, self.statement, self.width, self.batch_size = bind, statement, width, batch_size
        self._rows: Iterator[Any] | None = None

    @property
    def started(self) -> bool:
        return self._rows is not None

    def __iter__(self) -> _PlainRows:
        return self

    def __next__(self) -> tuple[Any, ...]:
        if self._rows is None:
            self._rows = _iter_plain_rows(self.bind, self.statement, self.batch_size)
        return next(self._rows)

    def csv_batches(self, columns: Sequence[ExportColumn]) -> Iterator[list[Sequence[Any]]]:
        """Batches of CSV-ready cells (text, ints, ``None`` for empty), as one sequence per
        column: exactly what ``format_cell`` gives per cell. Only before iteration starts."""
        if self._rows is not None:
            raise RuntimeError("the rows are already being read")
        if len(columns) != self.width:
            raise ValueError(f"a row has {self.width} values for {len(columns)} columns")
        batches = _plain_csv_batches(self.bind, self.statement, [column.kind for column in columns],
                                     self.batch_size)
        self._rows = batches
        return batches

    def close(self) -> None:
        if self._rows is not None:
            self._rows.close()  # type: ignore[attr-defined]
        else:
            self._rows = iter(())


def _connect(bind: Bind) -> tuple[Connection, Callable[[], None]]:
    """A connection for ``bind`` and how to give it back."""
    if isinstance(bind, Engine):
        connection = bind.connect()
        return connection, connection.close
    if isinstance(bind, Connection):
        return bind, lambda: None
    session = bind()
    return session.connection(), session.close


def _iter_plain_rows(bind: Bind, statement: Select[Any], batch_size: int) -> Iterator[tuple[Any, ...]]:
    """The rows of a plain-row statement as tuples (values already in column order), over a
    server-side cursor (``stream_results``; PostgreSQL) fetched ``batch_size`` at a time, on
    a connection of its own that is given back in ``finally`` (also on ``GeneratorExit``)."""
    connection, release = _connect(bind)
    try:
        result = connection.execute(statement, execution_options={"stream_results": True,
                                                                "max_row_buffer": batch_size})
        try:
            for partition in result.partitions(batch_size):
                yield from map(tuple, partition)
        finally:
            result.close()
    finally:
        release()


def _plain_csv_batches(bind: Bind, statement: Select[Any], kinds: Sequence[Kind],
                       batch_size: int) -> Iterator[list[Sequence[Any]]]:
    """Batches of CSV-ready cells of a plain-row statement, one sequence per column.

    On SQLite the values come straight from the DBAPI cursor (no SQLAlchemy result
    processing) and the usual columns are formatted a whole batch at a time from what
    SQLite stores (see :func:`_sqlite_column_formatter`); anything unexpected in a batch
    takes the column type's own result processing plus :func:`cell_formatter`. Elsewhere
    the typed values of the result are formatted with :func:`cell_formatter`, a column at a
    time. Either way each cell is exactly ``format_cell(value, kind)`` of the ORM's value."""
    connection, release = _connect(bind)
    try:
        if connection.dialect.name == "sqlite":
            result = connection.execute(statement)
        else:
            result = connection.execute(statement, execution_options={"stream_results": True,
                                                                    "max_row_buffer": batch_size})
        try:
            dialect = connection.dialect
            raw = (dialect.name == "sqlite" and type(result.cursor_strategy) is CursorFetchStrategy
                   and result.cursor is not None)
            if raw:
                description = result.cursor.description
                formatters = [
                    _sqlite_column_formatter(column.type, kind, dialect, description[index][1])
                    for index, (column, kind) in enumerate(zip(statement.selected_columns, kinds, strict=True))
                ]
                fetchmany = result.cursor.fetchmany
                batches: Iterator[Sequence[Any]] = iter(lambda: fetchmany(batch_size), [])
            else:
                formatters = [_column_formatter(cell_formatter(kind)) for kind in kinds]
                batches = (list(partition) for partition in result.partitions(batch_size))
            for batch in batches:
                yield [format_column(values) for format_column, values in zip(formatters, zip(*batch), strict=True)]
        finally:
            result.close()
    finally:
        release()


ColumnFormatter = Callable[[Sequence[Any]], Sequence[Any]]
_NONE = type(None)
_INT_TYPES = frozenset((int, _NONE))
_TEXT_TYPES = frozenset((str, _NONE))
_BOOL_TEXT = {1: "yes", 0: "no", None: None}
# What SQLAlchemy stores for a DateTime on SQLite; ASCII digits only, plausible fields.
_SQLITE_DATETIME = (r"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]) "
                    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}")
_SQLITE_DATETIMES = re.compile(f"{_SQLITE_DATETIME}(?:\n{_SQLITE_DATETIME})*")


def _column_formatter(format_value: Callable[[Any], str],
                      process: Callable[[Any], Any] | None = None) -> ColumnFormatter:
    """The general rule for a batch of one column: result processing, then the cell rule."""
    if process is None:
        return lambda values: list(map(format_value, values))
    return lambda values: [format_value(process(value)) for value in values]


def _sqlite_column_formatter(type_: Any, kind: Kind, dialect: Any, coltype: Any) -> ColumnFormatter:
    """Formats a batch of raw SQLite values of one column exactly as ``format_cell`` formats
    what SQLAlchemy makes of them, without a Python call per cell for the usual columns:

    - int: SQLite integers (and NULLs) as they are; the CSV writer prints them as ``str``.
    - text: strings, ``'``-prefixed where they start a formula.
    - money: a ``Numeric`` with 2 decimals (SQLAlchemy reads ``Decimal("%.2f" % value)``,
      whose text is ``"%.2f" % value``) from SQLite's integers and finite reals.
    - datetime: :class:`UTCDateTime` text as SQLAlchemy stores it (``2026-11-25 14:53:56.000000``)
      rewritten as ``2026-11-25T14:53:56+00:00`` (seconds: fractions are cut, not rounded).
    - bool: SQLite's 0/1 (and NULL) as ``no``/``yes``.

    A batch holding anything else (a NULL money, a text in an integer column, another
    timestamp form...) goes through the general rule for that batch."""
    process = type_._cached_result_processor(dialect, coltype)
    general = _column_formatter(cell_formatter(kind), process)
    if kind == "int" and process is None:
        def format_ints(values: Sequence[Any]) -> Sequence[Any]:
            return values if set(map(type, values)) <= _INT_TYPES else general(values)

        return format_ints
    if kind == "text" and process is None:
        def format_texts(values: Sequence[Any]) -> Sequence[Any]:
            if not set(map(type, values)) <= _TEXT_TYPES:
                return general(values)
            return [value if value is None or value[:1] not in _FORMULA_FIRST else "'" + value
                    for value in values]

        return format_texts
    if (kind == "money" and isinstance(type_, Numeric) and not isinstance(type_, TypeDecorator)
            and type_.asdecimal and type_._effective_decimal_return_scale == 2):
        cents = "%.2f".__mod__

        def format_money(values: Sequence[Any]) -> Sequence[Any]:
            if not set(map(type, values)) <= _NUMBER_TYPES or not math.isfinite(sum(values)):
                return general(values)
            return list(map(cents, values))

        return format_money
    if kind == "datetime" and isinstance(type_, UTCDateTime):
        def format_datetimes(values: Sequence[Any]) -> Sequence[Any]:
            if (not set(map(type, values)) <= _STR_ONLY
                    or len(joined := "\n".join(values)) != 27 * len(values) - 1
                    or _SQLITE_DATETIMES.fullmatch(joined) is None):
                return general(values)
            return [value[:10] + "T" + value[11:19] + "+00:00" for value in values]

        return format_datetimes
    if kind == "bool" and (process is None or isinstance(type_, Boolean)):
        def format_bools(values: Sequence[Any]) -> Sequence[Any]:
            if not set(map(type, values)) <= _INT_TYPES or not set(values) <= _BOOL_TEXT.keys():
                return general(values)
            return list(map(_BOOL_TEXT.__getitem__, values))

        return format_bools
    return general


_NUMBER_TYPES = frozenset((int, float))
_STR_ONLY = frozenset((str,))


# --------------------------------------------------------------------------- formatting


def neutralise(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would run as a formula (``=1+1``, ``@SUM(..)``),
    and to text that starts with ``'`` already (``'quoted`` → ``''quoted``)."""
    return "'" + text if text.startswith(QUOTED_PREFIXES) else text


def _to_utc(value: datetime) -> datetime:
    # Naive datetimes only come from code outside the models (UTCDateTime is always
    # aware); they are taken to be UTC, as everywhere else in the app.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _money(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_cell(value: Any, kind: Kind = "text") -> str:
    """The text of one CSV cell (and of XLSX text cells): the rule both formats share.

    money ``12.50``; int ``42``; datetime ISO 8601 in UTC with offset
    (``2026-11-25T14:53:56+00:00``); date ``2026-11-25``; bool ``yes``/``no``; ``None`` empty.
    Genuine numbers stay numbers (``-12.50``); anything else is text and is neutralised.
    """
    if value is None:
        return ""
    if kind == "money":
        amount = _money(value)
        if amount is not None:
            return f"{amount:f}"
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return str(int(value))
    elif kind == "datetime":
        if isinstance(value, datetime):
            return _to_utc(value).isoformat(timespec="seconds")
    elif kind == "date":
        if isinstance(value, datetime):
            return _to_utc(value).date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
    elif kind == "bool":
        return "yes" if value else "no"
    # Text, or a value that does not fit its declared kind: never trust it as a number.
    return neutralise(str(value))


_FORMULA_FIRST = frozenset(QUOTED_PREFIXES)  # every prefix is one character
assert all(len(prefix) == 1 for prefix in QUOTED_PREFIXES)


def _fast_text(value: Any) -> str:
    if type(value) is not str:
        if value is None:
            return ""
        value = str(value)
    return "'" + value if value[:1] in _FORMULA_FIRST else value


def _fast_int(value: Any) -> str:
    return str(value) if type(value) is int else format_cell(value, "int")


def _fast_money(value: Any) -> str:
    if type(value) is Decimal:
        text = str(value)
        # Plain notation with exactly two decimals ("-12.50"; never "1E+2" or "NaN"): what
        # quantizing to cents would print. Anything else takes the general rule.
        if text[-3:-2] == ".":
            return text
    return format_cell(value, "money")


def _fast_datetime(value: Any) -> str:
    if type(value) is datetime and value.tzinfo is UTC:
        return value.isoformat() if not value.microsecond else value.replace(microsecond=0).isoformat()
    return format_cell(value, "datetime")


def _fast_bool(value: Any) -> str:
    return "" if value is None else ("yes" if value else "no")


_FAST_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "text": _fast_text, "int": _fast_int, "money": _fast_money, "datetime": _fast_datetime,
    "bool": _fast_bool,
}


def cell_formatter(kind: Kind) -> Callable[[Any], str]:
    """A function giving exactly ``format_cell(value, kind)``, with fast paths for the values
    exports read (str, int, Decimal with cents, aware UTC datetimes): CSV calls it per cell."""
    return _FAST_FORMATTERS.get(kind) or (lambda value: format_cell(value, kind))


# --------------------------------------------------------------------------- CSV


def csv_stream(rows: Iterable[Sequence[Any]], columns: Sequence[ExportColumn],
               chunk_chars: int = CSV_CHUNK_CHARS,
               progress: Callable[[int], Any] | None = None) -> Iterator[bytes]:
    """CSV as UTF-8 bytes: a BOM (so Excel reads UTF-8) and the header first, at once (the
    download starts before the first query ends), then rows in chunks of ~``chunk_chars``.
    ``progress`` is told how many more rows were written, now and then (a progress bar).

    Closing this generator early closes ``rows`` too (and so :func:`iter_rows`' session).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF, quotes around commas, quotes, newlines
    written = written_chars = 0
    try:
        writer.writerow([neutralise(column.header) for column in columns])
        yield codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        if isinstance(rows, _PlainRows) and not rows.started:
            # Plain rows: whole batches formatted a column at a time, written at once.
            for cells in rows.csv_batches(columns):
                lines = _csv_lines(cells)
                if lines is None:
                    pending: list[Any] = list(zip(*cells))
                    write: Callable[[list[Any]], Any] = writer.writerows
                else:
                    pending, write = lines, _line_writer(buffer)
                start = 0
                while start < len(pending):
                    # As many rows as fit the chunk, by the rows written so far: chunks stay
                    # close to ``chunk_chars``, and the first one goes out early.
                    per_row = written_chars / written if written else _CSV_ROW_GUESS
                    step = max(1, int((chunk_chars - buffer.tell()) / per_row))
                    part = pending[start:start + step]
                    before = buffer.tell()
                    write(part)
                    written += len(part)
                    if progress is not None:
                        progress(len(part))
                    written_chars += buffer.tell() - before
                    start += step
                    if buffer.tell() >= chunk_chars:
                        yield buffer.getvalue().encode("utf-8")
                        buffer.seek(0)
                        buffer.truncate()
            if buffer.tell():
                yield buffer.getvalue().encode("utf-8")
            return
        formatters = [cell_formatter(column.kind) for column in columns]
        width = len(formatters)
        writerow = writer.writerow
        unreported = 0
        for row in rows:
            if len(row) != width:
                raise ValueError(f"a row has {len(row)} values for {width} columns")
            writerow(list(map(call, formatters, row)))
            unreported += 1
            if buffer.tell() >= chunk_chars:
                if progress is not None:
                    progress(unreported)
                unreported = 0
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        if progress is not None and unreported:
            progress(unreported)
        if buffer.tell():
            yield buffer.getvalue().encode("utf-8")
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def _csv_lines(cells: Sequence[Sequence[Any]]) -> list[str] | None:
    """The CSV lines of a batch (one sequence of cells per column) joined without the CSV
    writer, if no cell needs what it does beyond that: only text and ints, none quoted
    (comma, quote, CR, LF; NUL too, to be safe), at least two columns (a lone empty field is
    written ``""``). ``None`` if the batch needs the writer."""
    if len(cells) < 2:
        return None
    texts: list[Sequence[str]] = []
    for values in cells:
        types = set(map(type, values))
        if types == _INT_ONLY:
            values = list(map(str, values))
        elif types != _STR_ONLY:
            return None
        joined = "\n".join(values)
        if ("," in joined or '"' in joined or "\r" in joined or "\x00" in joined
                or joined.count("\n") != len(values) - 1):
            return None
        texts.append(values)
    return list(map(",".join, zip(*texts)))


def _line_writer(buffer: io.StringIO) -> Callable[[list[str]], Any]:
    def write(lines: list[str]) -> None:
        buffer.write("\r\n".join(lines))
        buffer.write("\r\n")

    return write


_INT_ONLY = frozenset((int,))


# --------------------------------------------------------------------------- XLSX


@dataclass(frozen=True)
class XlsxResult:
    """What :func:`xlsx_write` wrote. ``truncated`` means more rows existed than ``row_cap``:
    the file holds the first ``rows_written`` rows only (tell the user; CSV has no cap)."""

    rows_written: int
    truncated: bool
    row_cap: int


_NUMBER_FORMATS: dict[str, str] = {
    "money": "#,##0.00",
    "int": "0",
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "date": "yyyy-mm-dd",
}
_WIDTHS: dict[str, int] = {"money": 14, "int": 10, "datetime": 20, "date": 12, "bool": 8, "text": 24}


def _xlsx_text(value: Any, kind: Kind) -> str:
    text = format_cell(value, kind)
    # openpyxl refuses control characters Excel cannot store; Excel refuses huge cells.
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:XLSX_MAX_CELL_CHARS]


def _xlsx_cell(sheet: Any, value: Any, kind: Kind) -> WriteOnlyCell:
    typed: Any = None
    if value is not None:
        if kind == "money":
            typed = _money(value)
        elif kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            typed = value
        elif kind == "datetime" and isinstance(value, datetime):
            typed = _to_utc(value).replace(tzinfo=None)  # Excel has no time zones: UTC
        elif kind == "date" and isinstance(value, date):
            typed = _to_utc(value).date() if isinstance(value, datetime) else value
    if typed is not None:
        cell = WriteOnlyCell(sheet, value=typed)
        cell.number_format = _NUMBER_FORMATS[kind]
        return cell
    text = _xlsx_text(value, kind) if value is not None else None
    quoted = text is not None and text.startswith("'")
    # A text cell is typed as text, so a ``'`` would show; instead the value stays as it is
    # and carries the quote-prefix style, the flag a spreadsheet sets itself when someone
    # types a leading ``'``. (Text starts with ``'`` exactly when neutralise added one.)
    cell = WriteOnlyCell(sheet, value=text[1:] if quoted else text)
    if text is not None:
        # An explicit string type: openpyxl never stores it as a formula.
        cell.data_type = "s"
    if quoted:
        cell.quotePrefix = True
    return cell


def xlsx_write(rows: Iterable[Sequence[Any]], columns: Sequence[ExportColumn], fileobj: IO[bytes] | str,
               row_cap: int = XLSX_MAX_ROWS - 1, sheet_title: str = "Export") -> XlsxResult:
    """Write ``rows`` as an .xlsx workbook (openpyxl write-only mode) to ``fileobj``.

    Money and integers are numbers, datetimes real (naive, UTC: the header says so), dates
    dates, everything else neutralised text stored as a string, never as a formula.
    At most ``row_cap`` data rows are written (default: Excel's limit of 1,048,576 rows
    minus the header). If more exist, writing stops, the file is still valid, and the
    result says ``truncated=True``: the caller must tell the user.
    ``rows`` is closed (if it can be) when done, so an :func:`iter_rows` session ends here.
    """
    if not 0 < row_cap <= XLSX_MAX_ROWS - 1:
        raise ValueError(f"row_cap must be between 1 and {XLSX_MAX_ROWS - 1:,}")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(
            _WIDTHS[column.kind], len(column.header) + 2)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=_xlsx_text(column.header, "text"))
        cell.data_type = "s"
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    kinds = [column.kind for column in columns]
    written = 0
    truncated = False
    try:
        for row in rows:
            if written >= row_cap:
                truncated = True
                break
            sheet.append([_xlsx_cell(sheet, value, kind) for value, kind in zip(row, kinds, strict=True)])
            written += 1
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    workbook.save(fileobj)
    return XlsxResult(rows_written=written, truncated=truncated, row_cap=row_cap)
