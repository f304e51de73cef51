"""The export engine: one definition per export, one row path, CSV and XLSX.

- :class:`ExportSpec`, an entity's one definition: columns, search columns, filters and
  default sort (``export_specs.EXPORTS``). The views take their search and filter columns
  from it; their exports and ``manage.py export`` its columns and :func:`search_clause`.
- :func:`build_statement`: one ORM-enabled ``select()`` per export, one value per column
  (many-to-one links as outer joins to aliases, a collection as one aggregated cell).
- :func:`iter_rows`: its rows through ``db.session`` (so ``do_orm_execute`` hooks apply),
  in batches over a server-side cursor, in an app context of its own.
- :func:`format_cell`, the one formatting rule; :func:`csv_stream` and :func:`xlsx_write`
  (``csv_stream(iter_rows(build_statement(spec, search="alice")), spec.columns)``: what
  ``manage.py export`` does). Values never depend on the reader's language; headers may.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import chain, islice
from typing import IO, Any, Literal

from flask import Flask, current_app
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import Numeric, Select, case, func, inspect, null, select, type_coerce
from sqlalchemy.ext.hybrid import HybridExtensionType
from sqlalchemy.orm import Bundle, aliased
from sqlalchemy.sql import operators
from sqlalchemy.types import NullType

from admin_app.core.models import to_cents
from admin_app.core.search import search_clause
from admin_app.extensions import db

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
CSV_ROW_GUESS = 256  # characters per CSV row, until rows have been written
DEFAULT_BATCH_SIZE = 1000
MONEY_SQL = Numeric(12, 2)  # sums of Numeric(10, 2) can exceed 10 digits


@dataclass(frozen=True)
class ExportColumn:
    """A label, a *kind* that drives formatting, and an attribute path: a column or hybrid
    (``"total"``), through many-to-one links (``"user.username"``, empty where a link is
    ``None``), or ending in one collection (``"tags.name"``: one ``", "``-separated cell).
    ``sql`` replaces the path's SQL: a callable taking the resolver ``at("product.price")``."""

    label: Any  # text, or a lazy string: the header in the reader's language
    source: str
    kind: Kind = "text"
    sql: Callable[[Callable[[str], Any]], Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}; expected one of {KINDS}")

    @property
    def header(self) -> str:
        return f"{self.label} (UTC)" if self.kind == "datetime" else str(self.label)  # datetimes are in UTC


SortKey = tuple[str, bool]  # (attribute path, descending)


@dataclass(frozen=True)
class ExportSpec:
    """An entity's one definition. ``search_columns`` and ``filters`` are the list's
    (``column_searchable_list``, ``column_filters``); ``default_sort`` is the command's
    (a view's export follows the list's sort); ``computed`` gives SQL for names the model
    computes in Python (order totals from the stored subtotal)."""

    model: type
    title: str
    columns: tuple[ExportColumn, ...]
    search_columns: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    default_sort: tuple[SortKey, ...] = ()
    computed: Callable[[], dict[str, Any]] | None = None


class _RowBundle(Bundle):
    """The columns as one ORM entity whose value is the row's tuple: still an ORM select
    (session events apply), but a single entity goes through ``scalars()`` without a
    tuple from per-column getters and a second Row per row. ``create_row_processor`` is
    Bundle's documented extension point."""

    def create_row_processor(self, query: Any, procs: Any, labels: Any) -> Any:
        return lambda row: row  # the cursor's Row: no tuple built per row


class _Resolver:
    """Attribute paths of a spec as SQL, adding the outer joins they need."""

    def __init__(self, spec: ExportSpec) -> None:
        self.model: Any = spec.model
        self.computed = dict(spec.computed()) if spec.computed else {}
        self._entities: dict[tuple[str, ...], Any] = {(): spec.model}
        self.joins: list[tuple[Any, Any, Any]] = []  # (left, target, onclause), in order

    def entity(self, links: Sequence[str]) -> Any:
        """The outer-joined alias at the end of many-to-one links (two paths never clash)."""
        key = tuple(links)
        if key not in self._entities:
            parent = self.entity(key[:-1])
            relationship = inspect(parent).mapper.relationships[key[-1]]
            target = aliased(relationship.mapper.class_)
            self.joins.append((parent, target, getattr(parent, key[-1]).of_type(target)))
            self._entities[key] = target
        return self._entities[key]

    def at(self, path: str) -> Any:
        *links, name = path.split(".")
        if not links and name in self.computed:
            return self.computed[name]
        mapper = inspect(self.entity(links[:-1])).mapper if links else inspect(self.model)
        if links and mapper.relationships[links[-1]].uselist:
            return _collection_cell(self.entity(links[:-1]), mapper.relationships[links[-1]], name)
        entity = self.entity(links)
        expression = getattr(entity, name)
        descriptor = inspect(entity).mapper.all_orm_descriptors.get(name)
        if links and getattr(descriptor, "extension_type", None) is HybridExtensionType.HYBRID_PROPERTY:
            # A hybrid may be non-NULL for a missing row ("deleted_at IS NOT NULL" is false).
            (primary_key,) = inspect(entity).mapper.primary_key
            missing = getattr(entity, inspect(entity).mapper.get_property_by_column(primary_key).key).is_(None)
            expression = case((missing, null()), else_=expression)
        return expression

    def column(self, column: ExportColumn) -> Any:
        expression = column.sql(self.at) if column.sql is not None else self.at(column.source)
        # Values as the driver returns them (SQLite: text timestamps, REAL money): format_cell
        # reads both, and the types' result processing is skipped (bench/README.md).
        return type_coerce(expression, NullType())



def _collection_cell(parent: Any, relationship: Any, name: str) -> Any:
    """``name`` over a collection, in the relationship's order, ``", "``-joined in SQL."""
    target: Any = relationship.mapper.class_
    members = select(getattr(target, name).label("value"))
    if relationship.secondary is not None:
        members = members.select_from(relationship.secondary).join(target, relationship.secondaryjoin)
    members = members.where(relationship.primaryjoin).correlate(parent)
    ordered = members.order_by(*(relationship.order_by or ())).subquery()
    return select(func.aggregate_strings(ordered.c.value, ", ")).scalar_subquery()


def _base_columns(clause: Any) -> set[Any]:
    """The table columns behind an ORDER BY clause (``Order.id``, ``Order.id.desc()``)."""
    element = clause.__clause_element__() if hasattr(clause, "__clause_element__") else clause
    return set(getattr(getattr(element, "element", element), "proxy_set", ()))


def _sort(spec: ExportSpec, resolver: _Resolver, order_by: Sequence[Any] | None) -> list[Any]:
    """ORDER BY clauses, the primary key last so the file is the same on every database."""
    keys = spec.default_sort if order_by is None else order_by
    clauses = [(resolver.at(key[0]).desc() if key[1] else resolver.at(key[0]).asc()) if isinstance(key, tuple)
               else key for key in keys]
    (primary_key,) = inspect(spec.model).primary_key
    if not any(primary_key in _base_columns(clause) for clause in clauses):
        descending = bool(clauses) and getattr(clauses[0], "modifier", None) is operators.desc_op
        clauses.append(primary_key.desc() if descending else primary_key.asc())
    return clauses


def _where(spec: ExportSpec, search: str | None, extra_where: Iterable[Any]) -> list[Any]:
    clauses = [*extra_where, search_clause(spec.model, spec.search_columns, search)]
    return [clause for clause in clauses if clause is not None]


def build_statement(spec: ExportSpec, search: str | None = None, extra_where: Iterable[Any] = (),
                    order_by: Sequence[Any] | None = None) -> Select[Any]:
    """The ``select()`` an export runs: the search, filters (``extra_where``; a view's list
    as ``Model.id IN (<its query>.correlate(None))``) and the sort: clauses or
    ``(path, descending)`` pairs, the primary key last. It is read through the session, so
    the trash rule leaves deleted rows out (``core.soft_delete``; the option
    ``include_deleted`` lets them in)."""
    resolver = _Resolver(spec)
    row = _RowBundle("row", *(resolver.column(column).label(f"c{index}") for index, column in enumerate(spec.columns)),
                     single_entity=True)
    sort = _sort(spec, resolver, order_by)
    statement = select(row).select_from(spec.model)
    for left, target, onclause in resolver.joins:
        statement = statement.outerjoin_from(left, target, onclause)
    return statement.where(*_where(spec, search, extra_where)).order_by(*sort)


def count_statement(spec: ExportSpec, search: str | None = None, extra_where: Iterable[Any] = ()) -> Select[Any]:
    """``SELECT count(*)`` of the rows :func:`build_statement` exports (a progress bar)."""
    return select(func.count()).select_from(spec.model).where(*_where(spec, search, extra_where))


class Rows:
    """:func:`iter_rows`' rows, iterated in C over the batches; ``close()`` ends the batches."""

    def __init__(self, batches: Generator[Sequence[Any], None, None]) -> None:
        self.batches, self._rows = batches, chain.from_iterable(batches)

    def __iter__(self) -> Iterator[Any]:
        return self._rows

    def close(self) -> None:
        self.batches.close()


def iter_rows(statement: Select[Any], batch_size: int = DEFAULT_BATCH_SIZE, app: Flask | None = None) -> Rows:
    """The rows of ``statement`` in batches over a server-side cursor, read by ``db.session``
    in an app context of their own (``app``'s, default the current one): they outlive the
    request's context (a streamed body), in any thread. ``close()`` releases the connection."""
    return Rows(_session_batches(app or current_app._get_current_object(), statement, batch_size))


def _session_batches(app: Flask, statement: Select[Any], batch_size: int) -> Generator[Sequence[Any], None, None]:
    with app.app_context():
        result = db.session.execute(statement.execution_options(yield_per=batch_size)).scalars()
        with closing(result):
            yield from result.partitions()


def neutralise(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would run as a formula (``=1+1``, ``@SUM(..)``),
    and to text that starts with ``'`` already (``'quoted`` → ``''quoted``)."""
    return "'" + text if text.startswith(QUOTED_PREFIXES) else text


def _datetime(value: Any) -> datetime | None:
    """A datetime in UTC from a datetime or the text SQLite stores for one."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    # Naive datetimes (SQLite's text, code outside the models) are UTC, as everywhere else.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _date(value: Any) -> date | None:
    moment = _datetime(value)
    return moment.date() if moment is not None else value if isinstance(value, date) else None


def _int(value: Any) -> int | None:
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# What each kind makes of a value (None: it is not one), and how that is written as text.
_TYPED: dict[str, Callable[[Any], Any]] = {"money": to_cents, "int": _int, "datetime": _datetime, "date": _date}
_TEXT: dict[str, Callable[[Any], str]] = {"money": "{:f}".format, "int": str, "date": date.isoformat,
                                          "datetime": lambda moment: moment.isoformat(timespec="seconds")}


def format_cell(value: Any, kind: Kind = "text") -> str:
    """The text of one cell, typed or as SQLite stores it (REAL money, a timestamp's text):
    money ``12.50``; int ``42``; datetime ``2026-11-25T14:53:56+00:00`` (UTC); date
    ``2026-11-25``; bool ``yes``/``no``; ``None`` empty. Numbers stay numbers (``-12.50``);
    anything else is text, neutralised."""
    if value is None:
        return ""
    if kind == "bool":
        return "yes" if value else "no"
    typed = _TYPED[kind](value) if kind in _TYPED else None
    if typed is not None:
        return _TEXT[kind](typed)
    if kind == "money" and isinstance(value, float):
        value = Decimal(f"{value:.2f}")  # an infinite REAL: "Infinity", as SQLAlchemy reads it
    # Text, or a value that does not fit its declared kind: never trust it as a number.
    return neutralise(str(value))


_QUOTED_FIRST = frozenset(QUOTED_PREFIXES)  # every prefix is one character
_NONE = type(None)
# SQLite's text for a UTCDateTime (naive UTC, microseconds); ASCII digits, plausible fields.
_STORED_DATETIME = (r"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]) "
                    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}")
_STORED_DATETIMES = re.compile(f"{_STORED_DATETIME}(?:\n{_STORED_DATETIME})*")
_CENTS = re.compile(r"-?[0-9]+\.[0-9]{2}(?:\n-?[0-9]+\.[0-9]{2})*")
_YES_NO = {0: "no", 1: "yes", None: None}


def _int_column(values: Sequence[Any]) -> Sequence[Any] | None:
    return values if set(map(type, values)) <= {int, _NONE} else None  # csv.writer prints them


def _text_column(values: Sequence[Any]) -> Sequence[Any] | None:
    types = set(map(type, values))
    if types == {str}:
        # Usually no value starts a formula: found by searching all of them at once.
        starts = "\n" + "\n".join(values)
        if not any("\n" + prefix in starts for prefix in QUOTED_PREFIXES):
            return values
    elif not types <= {str, _NONE}:
        return None
    return [value if value is None or value[:1] not in _QUOTED_FIRST else "'" + value for value in values]


def _money_column(values: Sequence[Any]) -> Sequence[Any] | None:
    types = set(map(type, values))
    if types <= {float, int} and math.isfinite(sum(values)):
        # SQLite's REALs (and INTEGERs): "%.2f" is exactly what to_cents and "{:f}" make of them.
        return list(map("%.2f".__mod__, values))
    if types == {Decimal}:
        texts = list(map(str, values))  # whole cents print as they are quantized
        return texts if _CENTS.fullmatch("\n".join(texts)) is not None else None
    return None


def _datetime_column(values: Sequence[Any]) -> Sequence[Any] | None:
    if not set(map(type, values)) == {str} or _STORED_DATETIMES.fullmatch("\n".join(values)) is None:
        return None
    return [value[:10] + "T" + value[11:19] + "+00:00" for value in values]


def _bool_column(values: Sequence[Any]) -> Sequence[Any] | None:
    if not set(map(type, values)) <= {bool, int, _NONE} or not set(values) <= _YES_NO.keys():
        return None
    return list(map(_YES_NO.__getitem__, values))


_COLUMN_FORMATTERS: dict[str, Callable[[Sequence[Any]], Sequence[Any] | None]] = {
    "int": _int_column, "text": _text_column, "money": _money_column, "datetime": _datetime_column,
    "bool": _bool_column}


def format_column(values: Sequence[Any], kind: Kind) -> Sequence[Any]:
    """``format_cell`` of every value of one column, at once where the values have their
    usual form (``None`` and ints stay as they are: ``csv.writer`` writes them so)."""
    fast = _COLUMN_FORMATTERS.get(kind)
    formatted = fast(values) if fast is not None else None
    return formatted if formatted is not None else [format_cell(value, kind) for value in values]


def csv_stream(rows: Iterable[Sequence[Any]], columns: Sequence[ExportColumn], chunk_chars: int = CSV_CHUNK_CHARS,
               progress: Callable[[int], Any] | None = None, headers: Sequence[str] = ()) -> Iterator[bytes]:
    """CSV (``csv.writer``'s), UTF-8 with a BOM (for Excel): the header (``headers``, else the
    columns') at once, then ~``chunk_chars`` per chunk, a column at a time. ``progress`` is
    told how many more rows were written. Closing it closes ``rows``."""
    buffer, source = io.StringIO(), iter(rows)
    writer = csv.writer(buffer)
    written = [0, 0]  # rows, characters
    try:
        writer.writerow([neutralise(header) for header in headers or [column.header for column in columns]])
        yield codecs.BOM_UTF8 + _drain(buffer)
        per_row = CSV_ROW_GUESS
        while batch := list(islice(source, max(1, int((chunk_chars - buffer.tell()) / per_row)))):
            before = buffer.tell()
            _write_batch(writer, buffer, batch, columns)
            written[0] += len(batch)
            written[1] += buffer.tell() - before
            per_row = written[1] / written[0]
            if progress is not None:
                progress(len(batch))
            if buffer.tell() >= chunk_chars:
                yield _drain(buffer)
        if buffer.tell():
            yield _drain(buffer)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def _write_batch(writer: Any, buffer: io.StringIO, batch: list[Sequence[Any]], columns: Sequence[ExportColumn]) -> None:
    if set(map(len, batch)) != {len(columns)}:
        raise ValueError(f"rows must have {len(columns)} values, one per column")
    cells = [format_column(values, column.kind) for values, column in zip(zip(*batch), columns, strict=True)]
    lines = csv_lines(cells)
    if lines is None:
        writer.writerows(zip(*cells))
    else:
        buffer.write("\r\n".join(lines) + "\r\n")


def csv_lines(cells: Sequence[Sequence[Any]]) -> list[str] | None:
    """``csv.writer``'s lines for a batch (cells by column), joined directly where no cell
    needs quoting (text and ints only, two columns or more, no comma, quote, CR or LF);
    else None. The writer calls a function per character (bench/README.md)."""
    if len(cells) < 2:
        return None
    texts = []
    for values in cells:
        types = set(map(type, values))
        if types == {int}:
            values = list(map(str, values))
        elif types != {str}:
            return None
        texts.append(values)
    everything = "".join(map("".join, texts))
    if "," in everything or '"' in everything or "\r" in everything or "\n" in everything:
        return None
    return list(map(",".join, zip(*texts)))


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


@dataclass(frozen=True)
class XlsxResult:
    rows_written: int
    truncated: bool  # more rows existed than row_cap: the file holds the first rows_written
    row_cap: int


_NUMBER_FORMATS = {"money": "#,##0.00", "int": "0", "datetime": "yyyy-mm-dd hh:mm:ss", "date": "yyyy-mm-dd"}
_WIDTHS: dict[str, int] = {"money": 14, "int": 10, "datetime": 20, "date": 12, "bool": 8, "text": 24}
# Excel has no time zones: datetimes are written naive, in UTC (the header says so).
_XLSX_VALUE: dict[str, Callable[[Any], Any]] = {**_TYPED, "datetime": lambda value: (
    moment := _datetime(value)) and moment.replace(tzinfo=None)}


def _xlsx_cell(sheet: Any, value: Any, kind: Kind, font: Font | None = None) -> WriteOnlyCell:
    """A typed cell (a number, a date) where the value is one, else neutralised text that
    is explicitly a string, so openpyxl never stores it as a formula."""
    typed = _XLSX_VALUE[kind](value) if value is not None and kind in _XLSX_VALUE else None
    if typed is not None:
        cell = WriteOnlyCell(sheet, value=typed)
        cell.number_format = _NUMBER_FORMATS[kind]
        return cell
    # openpyxl refuses control characters Excel cannot store; Excel refuses huge cells.
    text = ILLEGAL_CHARACTERS_RE.sub("", format_cell(value, kind))[:XLSX_MAX_CELL_CHARS]
    # A ``'`` would show in a text cell: the value stays as it is with the quote-prefix style a
    # spreadsheet sets for a typed leading ``'`` (text starts with one exactly when neutralise added it).
    quoted = value is not None and text.startswith("'")
    cell = WriteOnlyCell(sheet, value=(text[1:] if quoted else text) if value is not None else None)
    if value is not None:
        cell.data_type = "s"  # an explicit string type: openpyxl never stores it as a formula
    if quoted:
        cell.quotePrefix = True
    if font is not None:
        cell.font = font
    return cell


def _xlsx_header(sheet: Any, columns: Sequence[ExportColumn], headers: Sequence[str]) -> None:
    for index, (column, header) in enumerate(zip(columns, headers, strict=True), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(_WIDTHS[column.kind], len(header) + 2)
    sheet.freeze_panes = "A2"
    sheet.append([_xlsx_cell(sheet, header, "text", Font(bold=True)) for header in headers])


def xlsx_write(rows: Iterable[Sequence[Any]], columns: Sequence[ExportColumn], fileobj: IO[bytes] | str,
               row_cap: int = XLSX_MAX_ROWS - 1, sheet_title: str = "Export",
               headers: Sequence[str] = ()) -> XlsxResult:
    """``rows`` as an .xlsx workbook (openpyxl write-only) with typed cells, at most
    ``row_cap`` rows (more: ``truncated=True``, tell the user). ``rows`` is closed after."""
    if not 0 < row_cap <= XLSX_MAX_ROWS - 1:
        raise ValueError(f"row_cap must be between 1 and {XLSX_MAX_ROWS - 1:,}")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    _xlsx_header(sheet, columns, headers or [column.header for column in columns])
    kinds = [column.kind for column in columns]
    written, remaining = 0, iter(rows)
    try:
        for row in islice(remaining, row_cap):
            sheet.append([_xlsx_cell(sheet, value, kind) for value, kind in zip(row, kinds, strict=True)])
            written += 1
        truncated = written == row_cap and next(remaining, None) is not None
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    workbook.save(fileobj)
    return XlsxResult(rows_written=written, truncated=truncated, row_cap=row_cap)
