"""The export engine (admin_app.core.export) and the ``export`` command: what a user
finds in the downloaded CSV / XLSX, and that the export streams with a bounded number of
SQL statements and without needing Flask's app context."""

from __future__ import annotations

import codecs
import csv
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from flask import Response, has_app_context
from openpyxl import load_workbook
from sqlalchemy import event, inspect, select, type_coerce
from sqlalchemy.orm import Session, with_loader_criteria

from admin_app.accounts.models import User
from admin_app.catalog.models import Product
from admin_app.core.export import (
    KINDS,
    MONEY_SQL,
    ExportColumn,
    build_statement,
    count_statement,
    csv_lines,
    csv_stream,
    format_cell,
    format_column,
    iter_rows,
    xlsx_write,
)
from admin_app.core.export_specs import EXPORTS
from admin_app.extensions import db
from admin_app.sales.models import Order
from tests import factories as f
from tests.conftest import make_app

# Text a spreadsheet would run as a formula, and text already starting with the quote that
# neutralises it (it gets one more, so an import can take exactly one off).
DANGEROUS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTabbed", "\rReturn", "'quoted"]
# XLSX keeps the text as it is, with the cell's quote-prefix style instead of a visible
# quote. XML turns a stored CR into LF when the workbook is read back: compare that way.
XLSX_SAFE = [text.replace("\r", "\n") for text in DANGEROUS]
WHEN = datetime(2026, 11, 25, 14, 53, 56, tzinfo=UTC)


# --------------------------------------------------------------------------- helpers


def export_csv(entity: str, search: str | None = None, include_deleted: bool = False,
               **kwargs: Any) -> list[list[str]]:
    """The rows (header first) a user finds in the CSV download of ``entity`` (with the
    trash, as the Deleted filter's export reads, when ``include_deleted``)."""
    spec = EXPORTS[entity]
    statement = build_statement(spec, search=search, **kwargs).execution_options(include_deleted=include_deleted)
    data = b"".join(csv_stream(iter_rows(statement), spec.columns))
    return parse_csv(data)


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(data[len(codecs.BOM_UTF8):].decode("utf-8"), newline="")))


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


def export_xlsx(entity: str, search: str | None = None) -> tuple[Any, Any]:
    spec = EXPORTS[entity]
    buffer = io.BytesIO()
    result = xlsx_write(iter_rows(build_statement(spec, search=search)),
                        spec.columns, buffer)
    buffer.seek(0)
    return load_workbook(buffer).active, result


class StatementCounter:
    """Counts the SQL statements sent to the database while active."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc: Any) -> None:
        event.remove(db.engine, "before_cursor_execute", self)


def count_statements(entity: str) -> tuple[int, int]:
    """(SQL statements, data rows) of a full CSV export of ``entity``."""
    db.session.remove()  # nothing cached in the test's session can hide a query
    with StatementCounter() as counter:
        rows = export_csv(entity)
    return len(counter.statements), len(rows) - 1


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (Decimal("12.5"), "money", "12.50"),
        (Decimal("-12.50"), "money", "-12.50"),
        (Decimal("0.005"), "money", "0.01"),
        (Decimal("99999999.99"), "money", "99999999.99"),
        (7, "money", "7.00"),
        (42, "int", "42"),
        (-3, "int", "-3"),
        (WHEN, "datetime", "2026-11-25T14:53:56+00:00"),
        (WHEN.astimezone(timezone(timedelta(hours=2))), "datetime", "2026-11-25T14:53:56+00:00"),
        (date(2026, 11, 25), "date", "2026-11-25"),
        (WHEN, "date", "2026-11-25"),
        (True, "bool", "yes"),
        (False, "bool", "no"),
        (None, "text", ""),
        (None, "money", ""),
        ("Zoë's café, \"Ärger\"", "text", "Zoë's café, \"Ärger\""),
        *[(text, "text", "'" + text) for text in DANGEROUS],
        # A value that is not what its column claims is text, so it is neutralised too.
        ("-12.50 or =cmd", "money", "'-12.50 or =cmd"),
        ("=2", "int", "'=2"),
    ],
)
def test_format_cell(value, kind, text):
    assert format_cell(value, kind) == text


def test_unknown_column_kind_is_refused():
    with pytest.raises(ValueError, match="unknown column kind"):
        ExportColumn("Price", "price", "currency")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- CSV


def test_csv_neutralises_every_formula_prefix_but_keeps_negative_numbers():
    columns = [ExportColumn("Amount", "a", "money"), ExportColumn("Note", "n"), ExportColumn("Qty", "q", "int")]
    rows = [(Decimal("-12.50"), text, -4) for text in DANGEROUS]
    parsed = parse_csv(b"".join(csv_stream(iter(rows), columns)))
    assert parsed[0] == ["Amount", "Note", "Qty"]
    assert [row[0] for row in parsed[1:]] == ["-12.50"] * len(DANGEROUS)
    assert [row[1] for row in parsed[1:]] == ["'" + text for text in DANGEROUS]
    assert [row[2] for row in parsed[1:]] == ["-4"] * len(DANGEROUS)


def test_product_csv_shows_dangerous_names_as_plain_text():
    for name in DANGEROUS:
        f.product(name=name, price=Decimal("12.5"))
    rows = as_dicts(export_csv("product"))
    assert sorted(row["Name"] for row in rows) == sorted("'" + name for name in DANGEROUS)
    assert {row["Price"] for row in rows} == {"12.50"}
    assert {row["In stock"] for row in rows} == {"yes"}


def test_order_csv_shows_customer_amounts_and_iso_dates():
    alice = f.customer(username="alice", email="alice@example.com", first_name="Alice", last_name="Ärger")
    lamp, desk = f.product(price=Decimal("12.25")), f.product(price=Decimal("100.00"))
    order = f.order(alice, items=[(lamp, 2, Decimal("12.25")), (desk, 1, Decimal("99.99"))],
                    order_date=WHEN, status="paid", shipping_fee=Decimal("4.5"))
    empty = f.order(alice, order_date=WHEN - timedelta(days=1))

    header, *body = export_csv("order")
    assert header == ["ID", "Order date (UTC)", "Status", "Customer", "Customer name", "Email",
                      "Customer deleted", "Subtotal", "Shipping fee", "Total"]
    assert body == [
        [str(order.id), "2026-11-25T14:53:56+00:00", "paid", "alice", "Alice Ärger", "alice@example.com",
         "no", "124.49", "4.50", "128.99"],
        [str(empty.id), "2026-11-24T14:53:56+00:00", "pending", "alice", "Alice Ärger", "alice@example.com",
         "no", "0.00", "0.00", "0.00"],
    ]


def test_csv_quotes_commas_quotes_and_newlines_and_keeps_accents():
    description = 'Ein "Klassiker", gut\nund günstig; Zoë'
    f.category(name="Küche, Bad & Zoë", description=description)
    rows = as_dicts(export_csv("category"))
    assert [(row["Name"], row["Description"]) for row in rows] == [("Küche, Bad & Zoë", description)]


def test_collections_are_listed_in_one_cell():
    post = f.post(title="Sale", tags=[f.tag(name="news"), f.tag(name="deals")])
    rows = as_dicts(export_csv("post"))
    assert [(row["ID"], row["Title"], row["Tags"]) for row in rows] == [(str(post.id), "Sale", "deals, news")]


def test_csv_chunks_are_neither_one_string_nor_one_per_row():
    f.many_orders(300)
    spec = EXPORTS["order"]
    chunks = list(csv_stream(iter_rows(build_statement(spec)), spec.columns,
                             chunk_chars=4096))
    assert chunks[0].startswith(codecs.BOM_UTF8) and chunks[0].count(b"\r\n") == 1  # header at once
    assert 3 <= len(chunks) < 300
    assert all(len(chunk) < 4096 + 500 for chunk in chunks)


# --------------------------------------------------------------------------- XLSX


def test_xlsx_has_typed_cells_and_never_a_formula():
    alice = f.customer(username="=HYPERLINK(\"http://evil\")", first_name="Zoë", last_name="Ärger")
    lamp = f.product(name="@lamp", price=Decimal("12.25"))
    order = f.order(alice, items=[(lamp, 2, Decimal("12.25"))], order_date=WHEN, shipping_fee=Decimal("4.5"))

    sheet, result = export_xlsx("order")
    assert (result.rows_written, result.truncated) == (1, False)
    rows = list(sheet.iter_rows())
    assert all(cell.data_type != "f" for row in rows for cell in row)
    header = [cell.value for cell in rows[0]]
    values = dict(zip(header, [cell.value for cell in rows[1]], strict=True))
    assert header[1] == "Order date (UTC)"
    assert values["ID"] == order.id
    assert values["Order date (UTC)"] == datetime(2026, 11, 25, 14, 53, 56)  # a real date, in UTC
    assert isinstance(values["Order date (UTC)"], datetime)
    assert (values["Subtotal"], values["Shipping fee"], values["Total"]) == (24.5, 4.5, 29.0)
    assert values["Customer"] == "=HYPERLINK(\"http://evil\")"
    assert rows[1][header.index("Customer")].quotePrefix
    assert values["Customer name"] == "Zoë Ärger"
    assert not rows[1][header.index("Customer name")].quotePrefix


def test_xlsx_neutralises_like_csv_and_keeps_negative_numbers():
    columns = [ExportColumn("Amount", "a", "money"), ExportColumn("Note", "n"), ExportColumn("Day", "d", "date"),
               ExportColumn("Paid", "p", "bool")]
    buffer = io.BytesIO()
    xlsx_write(iter([(Decimal("-12.50"), text, date(2026, 1, 2), True) for text in DANGEROUS]), columns, buffer)
    cells = list(load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows())
    rows = [tuple(cell.value for cell in row) for row in cells]
    assert rows[0] == ("Amount", "Note", "Day", "Paid")
    assert [row[0] for row in rows[1:]] == [-12.5] * len(DANGEROUS)
    assert [row[1] for row in rows[1:]] == XLSX_SAFE
    assert all(row[1].quotePrefix and row[1].data_type == "s" for row in cells[1:])
    assert not any(row[0].quotePrefix for row in cells[1:])
    assert rows[1][2] == datetime(2026, 1, 2)  # openpyxl reads dates back as datetimes
    assert rows[1][3] == "yes"


def test_xlsx_stops_at_the_row_cap_and_says_so():
    columns = [ExportColumn("N", "n", "int")]
    closed = []

    def numbers() -> Iterator[tuple[int]]:
        try:
            yield from ((n,) for n in range(10))
        finally:
            closed.append(True)

    buffer = io.BytesIO()
    result = xlsx_write(numbers(), columns, buffer, row_cap=3)
    assert (result.rows_written, result.truncated, result.row_cap) == (3, True, 3)
    assert closed == [True]
    assert [row for row in load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows(values_only=True)] == [
        ("N",), (0,), (1,), (2,)]
    with pytest.raises(ValueError, match="row_cap"):
        xlsx_write(iter([]), columns, io.BytesIO(), row_cap=1_048_576)


# --------------------------------------------------------------------------- search, sort, soft delete


def test_order_search_matches_customer_username_email_and_order_id_case_insensitively():
    alice = f.customer(username="AliceW", email="wonder@example.com")
    bob = f.customer(username="bob", email="builder@example.org")
    alice_orders = [f.order(alice, order_date=WHEN - timedelta(days=n)) for n in range(2)]
    bob_order = f.order(bob, order_date=WHEN)

    def ids(search: str) -> list[str]:
        return [row["ID"] for row in as_dicts(export_csv("order", search=search))]

    assert ids("alicew") == [str(o.id) for o in alice_orders]  # newest first
    assert ids("EXAMPLE.ORG") == [str(bob_order.id)]
    assert ids(str(bob_order.id)) == [str(bob_order.id)]
    assert ids("%") == []  # wildcards in the search text are literal
    assert ids("nobody") == []
    assert len(ids("  ")) == 3  # blank search: everything


def test_default_sort_is_newest_first_or_by_id():
    old = f.product(name="old")
    new = f.product(name="new")
    old.created_at = WHEN - timedelta(days=3)
    new.created_at = WHEN
    db.session.commit()
    assert [row["Name"] for row in as_dicts(export_csv("product"))] == ["new", "old"]
    tags = [f.tag(name=name) for name in ("b", "a", "c")]
    assert [row["ID"] for row in as_dicts(export_csv("tag"))] == [str(t.id) for t in tags]


def test_caller_sort_and_filters_are_applied_with_a_stable_tie_breaker():
    products = [f.product(name=name, price=Decimal(price)) for name, price in
                (("a", "5.00"), ("b", "9.00"), ("c", "5.00"))]
    rows = as_dicts(export_csv("product", order_by=[Product.price.desc()],
                               extra_where=[Product.name != "zzz"]))
    assert [row["Name"] for row in rows] == ["b", "c", "a"]  # equal prices: higher id first
    assert [row["Name"] for row in as_dicts(export_csv("product", extra_where=[Product.price < 6]))] == ["c", "a"]
    assert len(products) == 3


def test_soft_deleted_rows_are_never_exported():
    keep, gone = f.customer(username="keep"), f.customer(username="gone")
    live_order, dead_order = f.order(keep), f.order(keep)
    live_product, dead_product = f.product(name="live"), f.product(name="dead")
    for record in (gone, dead_order, dead_product):
        record.soft_delete()
    db.session.commit()
    assert [row["Username"] for row in as_dicts(export_csv("customer"))] == ["keep"]
    assert [row["ID"] for row in as_dicts(export_csv("order"))] == [str(live_order.id)]
    assert [row["Name"] for row in as_dicts(export_csv("product"))] == ["live"]
    assert [row["Name"] for row in as_dicts(export_csv("product", search="dead"))] == []
    assert db.session.scalar(count_statement(EXPORTS["customer"])) == 1
    assert live_product and dead_order


# --------------------------------------------------------------------------- queries and streaming


def test_statement_count_does_not_grow_with_the_number_of_orders():
    f.many_orders(30)
    small = count_statements("order")
    f.many_orders(270)
    large = count_statements("order")
    assert small == (1, 30) and large == (1, 300)


def make_every_entity(n: int) -> None:
    author = f.employee()
    parent = f.category()
    for _ in range(n):
        buyer = f.customer()
        item = f.product(category=f.category(parent=parent))
        f.order(buyer, items=[(item, 1, item.price)])
        f.cart_item(buyer, item)
        post = f.post(author, category=parent, tags=[f.tag(), f.tag()])
        f.comment(post, user=buyer)


@pytest.mark.parametrize("entity", sorted(EXPORTS))
def test_every_entity_exports_in_a_bounded_number_of_statements(entity):
    make_every_entity(3)
    few, few_rows = count_statements(entity)
    make_every_entity(12)
    many, many_rows = count_statements(entity)
    assert 0 < few_rows < many_rows
    # One query; plus one per batch for a collection column (post tags).
    assert few == many <= 2


def test_csv_streams_before_the_last_row_is_fetched():
    f.many_orders(300)
    spec = EXPORTS["order"]
    fetched = 0

    def counted() -> Iterator[tuple[Any, ...]]:
        nonlocal fetched
        for row in iter_rows(build_statement(spec), batch_size=50):
            fetched += 1
            yield row

    stream = csv_stream(counted(), spec.columns, chunk_chars=1024)
    header = next(stream)
    assert header.count(b"\r\n") == 1 and fetched == 0  # the header goes out before any query
    first_rows = next(stream)
    assert first_rows.count(b"\r\n") >= 1
    assert fetched < 300
    rest = b"".join(stream)
    assert fetched == 300
    assert len(parse_csv(header + first_rows + rest)) == 301


def test_rows_are_read_without_any_flask_app_context():
    f.many_orders(5)
    spec = EXPORTS["order"]
    rows = iter_rows(build_statement(spec))  # made in the request, as a view does
    db.session.remove()
    outcome: dict[str, Any] = {}

    def download() -> None:  # a new thread starts with no app context, like a streamed body
        try:
            outcome["context"] = has_app_context()
            outcome["data"] = b"".join(csv_stream(rows, spec.columns))
        except BaseException as error:  # reported to the test thread
            outcome["error"] = error

    worker = threading.Thread(target=download)
    worker.start()
    worker.join()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["context"] is False
    assert len(parse_csv(outcome["data"])) == 6


def test_a_streamed_flask_response_outlives_the_app_context(app):
    """The view pattern from the export module's docs, on Flask >= 3.1.2 which tears the
    app context down before the body is generated."""
    f.many_orders(40)
    other = make_app(app.config["SQLALCHEMY_DATABASE_URI"])
    spec = EXPORTS["order"]

    @other.get("/orders.csv")
    def orders_csv() -> Response:
        rows = iter_rows(build_statement(spec))
        return Response(csv_stream(rows, spec.columns), mimetype="text/csv")

    try:
        response = other.test_client().get("/orders.csv")
        assert response.status_code == 200
        rows = parse_csv(response.get_data())
        assert len(rows) == 41 and rows[1][3].startswith("customer")
    finally:
        with other.app_context():
            db.engine.dispose()


def test_closing_the_stream_early_releases_the_connection():
    f.many_orders(30)
    spec = EXPORTS["order"]
    db.session.remove()
    pool = db.engine.pool
    before = pool.checkedout()
    stream = csv_stream(iter_rows(build_statement(spec), batch_size=5),
                        spec.columns, chunk_chars=10)
    next(stream), next(stream)
    assert pool.checkedout() == before + 1
    stream.close()  # what the WSGI server does when the client goes away (GeneratorExit)
    assert pool.checkedout() == before


# --------------------------------------------------------------------------- the command


def test_export_command_writes_csv_to_a_file(runner, tmp_path):
    keep = f.customer(username="keep")
    orders = [f.order(keep, order_date=WHEN - timedelta(hours=n)) for n in range(3)]
    f.order(f.customer(username="other"))
    target = tmp_path / "orders.csv"
    result = runner.invoke(args=["export", "order", "--format", "csv", "--search", "KEEP",
                                 "--output", str(target)])
    assert result.exit_code == 0, result.output
    rows = as_dicts(parse_csv(target.read_bytes()))
    assert [row["ID"] for row in rows] == [str(o.id) for o in orders]
    assert result.stdout == ""
    assert "Exported 3 orders" in result.stderr


def test_export_command_writes_xlsx_to_a_file(runner, tmp_path):
    for name in DANGEROUS:
        f.product(name=name)
    target = tmp_path / "products.xlsx"
    result = runner.invoke(args=["export", "product", "--format", "xlsx", "-o", str(target)])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(target).active
    rows = list(sheet.iter_rows())
    assert len(rows) == 1 + len(DANGEROUS)
    assert all(cell.data_type != "f" for row in rows for cell in row)
    assert sorted(row[2].value for row in rows[1:]) == sorted(XLSX_SAFE)


def test_export_command_writes_only_csv_to_stdout(runner):
    f.tag(name="Zoë")
    result = runner.invoke(args=["export", "tag"])
    assert result.exit_code == 0, result.output
    assert parse_csv(result.stdout_bytes) == [["ID", "Name"], [result.stdout_bytes.decode().split("\r\n")[1]
                                                                  .split(",")[0], "Zoë"]]
    assert result.stderr == ""


def test_export_command_refuses_an_unknown_entity(runner):
    result = runner.invoke(args=["export", "invoice"])
    assert result.exit_code == 2
    assert "'invoice' is not one of 'address', 'auditlog', 'cartitem'" in result.output


# --------------------------------------------------------------------------- one row path


def orm_cells(spec: Any, record: Any) -> list[str]:
    """What a CSV row must hold: format_cell of each column's value, read from the ORM
    object as any other code reads it (typed by the column types, hybrids in Python)."""

    def value(obj: Any, parts: list[str]) -> Any:
        for index, part in enumerate(parts):
            if obj is None:
                return None
            if isinstance(obj, list):  # a collection: its members' values in one cell
                return ", ".join(str(value(member, parts[index:])) for member in obj)
            obj = getattr(obj, part)
        return obj

    # Amounts computed in SQL (order totals, hybrids such as an item's subtotal) are read
    # typed from their SQL, as a list page shows them: on SQLite, amounts stored with more
    # than two decimals round differently in Python.
    computed = spec.computed() if spec.computed else {}
    hybrids = inspect(spec.model).all_orm_descriptors
    cells = []
    for column in spec.columns:
        if column.source in computed or (column.kind == "money" and column.source in hybrids
                                         and column.source not in inspect(spec.model).column_attrs):
            expression = computed.get(column.source, getattr(spec.model, column.source))
            (primary_key,) = inspect(spec.model).primary_key
            typed = db.session.scalar(select(type_coerce(expression, MONEY_SQL)).where(primary_key == record.id))
            cells.append(format_cell(typed, column.kind))
        elif column.source == "changes":  # the history's JSON, as the model stores it
            cells.append(json.dumps(record.changes, sort_keys=True, ensure_ascii=False))
        else:
            cells.append(format_cell(value(record, column.source.split(".")), column.kind))
    return cells


def assert_export_is_what_the_orm_reads(entity: str, search: str | None = None) -> list[list[str]]:
    spec = EXPORTS[entity]
    header, *rows = export_csv(entity, search=search)
    assert header == [column.header for column in spec.columns]
    db.session.expire_all()
    for row in rows:
        assert row == orm_cells(spec, db.session.get(spec.model, int(row[0]))), (entity, row[0])
    return rows


def make_awkward_world() -> None:
    """Every entity, with links that are None (a product without category, a guest
    comment), deleted customers and products still named by orders, formula prefixes,
    quotes, commas, newlines and money that floats cannot hold exactly."""
    make_every_entity(3)
    orphan = f.product(name="=orphan", price=Decimal("0.10"))
    f.category(name="Root, \"quoted\"", description="two\nlines")
    f.comment(f.post(), author_name="@guest")
    gone_customer, gone_product = f.customer(username="gone"), f.product(name="gone")
    f.order(gone_customer, items=[(gone_product, 3, Decimal("33.33")), (orphan, 1, Decimal("0.29"))],
            shipping_fee=Decimal("99999999.99"), order_date=WHEN.replace(microsecond=999999))
    f.cart_item(gone_customer, gone_product)
    gone_customer.soft_delete()
    gone_product.soft_delete()
    db.session.commit()


@pytest.mark.parametrize("entity", sorted(EXPORTS))
def test_every_export_holds_exactly_what_the_orm_objects_hold(entity):
    """Same headers, same cells as the ORM's typed values through format_cell: dates,
    money, hybrids, links that are None, collections, soft-delete markers."""
    make_awkward_world()
    f.audit_entries()
    rows = assert_export_is_what_the_orm_reads(entity)
    assert len(rows) >= 2
    assert_export_is_what_the_orm_reads(entity, search="gone")


def test_exports_build_no_orm_objects_and_run_one_statement_for_10_or_1000_rows():
    loads: list[Any] = []

    def loaded(target: Any, context: Any) -> None:
        loads.append(target)

    event.listen(Order, "load", loaded)
    event.listen(User, "load", loaded, propagate=True)
    try:
        f.many_orders(10)
        few = count_statements("order")
        f.many_orders(990)
        many = count_statements("order")
    finally:
        event.remove(Order, "load", loaded)
        event.remove(User, "load", loaded)
    assert few == (1, 10) and many == (1, 1000)
    assert loads == []


def test_rows_are_read_through_the_session_so_its_criteria_apply():
    """The export's statement is an ORM select run by ``db.session``: a ``do_orm_execute``
    hook adding ``with_loader_criteria`` (the soft-delete recipe) filters its rows, and a
    statement that must include deleted rows says so in its execution options."""
    cancelled = f.order(f.customer(), status="cancelled")
    kept = f.order(f.customer(), status="paid")
    seen: list[Any] = []

    def hide_cancelled(state: Any) -> None:
        if state.is_select and not state.is_column_load and not state.is_relationship_load:
            seen.append(state.execution_options.get("include_deleted", False))
            state.statement = state.statement.options(
                with_loader_criteria(Order, Order.status != "cancelled", include_aliases=True))

    event.listen(Session, "do_orm_execute", hide_cancelled)
    try:
        assert [row["ID"] for row in as_dicts(export_csv("order"))] == [str(kept.id)]
        assert [row["ID"] for row in as_dicts(export_csv("order", include_deleted=True))] == [str(kept.id)]
    finally:
        event.remove(Session, "do_orm_execute", hide_cancelled)
    assert seen == [False, True]
    assert {row["ID"] for row in as_dicts(export_csv("order"))} == {str(kept.id), str(cancelled.id)}


def test_order_totals_come_from_the_order_rows_without_reading_items():
    alice, bob = f.customer(username="alice"), f.customer(username="bob")
    lamp = f.product(price=Decimal("2.50"))
    mine = f.order(alice, items=[(lamp, 2, Decimal("2.50")), (lamp, 1, Decimal("0.01"))],
                   shipping_fee=Decimal("1.00"))
    f.order(bob, items=[(lamp, 7, Decimal("2.50"))])
    sql = str(build_statement(EXPORTS["order"], search="alice").compile(db.engine))
    assert "order_items" not in sql  # the stored subtotal: no pass over the items
    rows = as_dicts(export_csv("order", search="alice"))
    assert [(r["ID"], r["Subtotal"], r["Total"]) for r in rows] == [(str(mine.id), "5.01", "6.01")]
    rows = as_dicts(export_csv("order", extra_where=[Order.user_id == bob.id]))
    assert [r["Subtotal"] for r in rows] == ["17.50"]


def test_sort_by_attribute_paths_through_the_joined_alias():
    zed, amy = f.customer(username="zed"), f.customer(username="amy")
    orders = [f.order(zed), f.order(amy), f.order(zed)]
    by_name = as_dicts(export_csv("order", order_by=[("user.username", False)]))
    assert [row["ID"] for row in by_name] == [str(orders[1].id), str(orders[0].id), str(orders[2].id)]
    by_name = as_dicts(export_csv("order", order_by=[("user.username", True)]))
    assert [row["ID"] for row in by_name] == [str(orders[2].id), str(orders[0].id), str(orders[1].id)]
    parent_a, parent_b = f.category(name="A"), f.category(name="B")
    f.category(name="x", parent=parent_b), f.category(name="y", parent=parent_a)
    rows = as_dicts(export_csv("category", order_by=[("parent.name", False), ("name", False)]))
    # (Where rows without a parent go is the database's NULL order, as in the list.)
    assert [(row["Name"], row["Parent"]) for row in rows if row["Parent"]] == [("y", "A"), ("x", "B")]


FORMAT_SAMPLES: list[Any] = [
    None, "", "plain", "Zoë", "=1+1", "-3", "@x", "\tx", "\rx", "+1", 0, 1, -1, 42, 10**20, True, False,
    Decimal("0"), Decimal("12.5"), Decimal("12.50"), Decimal("-12.50"), Decimal("0.005"), Decimal("1E+2"),
    Decimal("99999999.99"), Decimal("NaN"), Decimal("-0.00"), 7.0, 0.1 + 0.2, -2.675, float("nan"),
    WHEN, WHEN.replace(microsecond=123456), WHEN.astimezone(timezone(timedelta(hours=-5))),
    WHEN.replace(tzinfo=None), date(2026, 1, 2), [1, 2],
]


def as_written(values: list[Any]) -> list[str]:
    """The CSV text of each value, as csv.writer writes it (None empty, ints as digits)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([value, "x"] for value in values)
    return [line[:-2] for line in buffer.getvalue().split("\r\n")[:-1]]


@pytest.mark.parametrize("kind", KINDS)
def test_column_formatting_gives_exactly_format_cell(kind):
    samples = [[value] for value in FORMAT_SAMPLES] + [FORMAT_SAMPLES]
    for values in samples:
        assert as_written(list(format_column(values, kind))) == as_written(
            [format_cell(value, kind) for value in values]), (kind, values)


@pytest.mark.parametrize(
    ("kind", "type_", "values"),
    [
        ("int", "Integer", [1, -7, 0, 2**62, None]),
        ("int", "Integer", [1, "=2", 3.5, None]),  # text or REAL in an INTEGER column
        ("text", "String", ["a", "=b", "-1", "@c", "\td", "\re", "", None, "Zoë", "'f"]),
        ("text", "String", ["a", 5, -5, 1.5, None, "=x"]),
        ("money", "Numeric", [0.29, 99999999.99, 1.005, 2.675, 0.125, 0, 100, -12.5, 0.1 + 0.2, 1e15, 7]),
        ("money", "Numeric", [-0.0, -0.001, 1e20, 12.5]),
        ("money", "Numeric", [1.5, None]),
        ("money", "Numeric", [1.5, float("inf")]),
        ("datetime", "UTCDateTime", ["2026-11-25 14:53:56.000000", "2026-11-25 14:53:56.999999",
                                     "1999-01-01 00:00:00.500000"]),
        ("datetime", "UTCDateTime", ["2026-11-25 14:53:56.000000", "2026-11-25 14:53:56", "2026-11-25", None]),
        ("datetime", "UTCDateTime", ["2026-11-25 14:53:56.000000", "2026-11-25T14:53:56.000000"]),
        ("bool", "Boolean", [1, 0, None]),
        ("bool", "Boolean", [1, 2, -1, 0]),
    ],
)
def test_what_sqlite_stores_is_written_as_sqlalchemy_reads_it(kind, type_, values):
    """The engine reads values as the driver returns them. On SQLite that is text for
    timestamps, REAL for money and 0/1 for booleans: each column, formatted at once or per
    cell, gives format_cell of what SQLAlchemy's column type makes of the stored value."""
    from sqlalchemy import Boolean, Integer, String
    from sqlalchemy.dialects import sqlite

    from admin_app.core.export import MONEY_SQL
    from admin_app.core.models import UTCDateTime

    type_ = {"Integer": Integer(), "String": String(), "Numeric": MONEY_SQL, "UTCDateTime": UTCDateTime(),
             "Boolean": Boolean()}[type_]
    dialect = sqlite.dialect()
    process = type_.dialect_impl(dialect).result_processor(dialect, None) or (lambda value: value)
    if isinstance(type_, UTCDateTime):
        impl = type_.impl.dialect_impl(dialect).result_processor(dialect, None)
        process = lambda value: type_.process_result_value(impl(value), dialect)  # noqa: E731
    expected = [format_cell(process(value), kind) for value in values]
    assert as_written(list(format_column(values, kind))) == as_written(expected), (kind, values)
    assert [format_cell(value, kind) for value in values] == expected


def test_csv_of_awkward_values_is_what_the_orm_reads():
    """Money that floats cannot hold exactly, fractions of seconds, formula prefixes, quotes,
    commas, newlines and empty text, on every database."""
    lamp = f.product(name="lamp", price=Decimal("1.00"))
    for index, (money, text) in enumerate(zip(AWKWARD_MONEY, AWKWARD_TEXT, strict=False)):
        buyer = f.customer(username=text or f"user{index}", first_name=text or "Ann", last_name="Zoë",
                           email=f"{index}@example.com")
        when = WHEN.replace(microsecond=(0, 1, 499999, 500000, 999999)[index % 5]) - timedelta(days=index)
        f.order(buyer, items=[(lamp, index + 1, money)], order_date=when, shipping_fee=money, notes=text)
    f.order(f.customer(username="=last", first_name="", last_name=""), order_date=WHEN - timedelta(days=99))
    for entity in ("order", "orderitem", "customer", "product", "cartitem"):
        assert_export_is_what_the_orm_reads(entity)
    rows = as_dicts(export_csv("order"))
    assert {row["Customer"] for row in rows} >= {"'=1+1", "'-3", "a,b", "'=last"}
    assert rows[0]["Order date (UTC)"] == "2026-11-25T14:53:56+00:00"


AWKWARD_MONEY = [Decimal("0.29"), Decimal("0.01"), Decimal("0.10"), Decimal("1.01"), Decimal("2.68"),
                 Decimal("99999999.99"), Decimal("12345678.91"), Decimal("0.00"), Decimal("100.00"),
                 Decimal("33.33")]
# More than 2 decimals: PostgreSQL rounds them on the way in, SQLite keeps the REAL as given.
OFF_CENT_MONEY = [Decimal("1.005"), Decimal("2.675"), Decimal("0.125"), Decimal("-0.001")]
AWKWARD_TEXT = ["=1+1", "-3", "+x", "@x", "\tTab", "\rCR", "a,b", 'say "hi"', "two\nlines", "cr\rin", "Zoë ß ✓",
                "'quoted", " lead space", ""]


def test_money_with_more_than_two_decimals_reads_as_sqlalchemy_reads_it():
    """Stored values that are not whole cents (possible on SQLite only): the CSV prints
    exactly what formatting SQLAlchemy's Decimal prints, rounding included."""
    lamp = f.product(price=Decimal("1.00"))
    for index, money in enumerate(OFF_CENT_MONEY):
        f.order(f.customer(), items=[(lamp, index + 1, abs(money))], shipping_fee=abs(money),
                order_date=WHEN - timedelta(days=index))
    for entity in ("order", "orderitem"):
        assert_export_is_what_the_orm_reads(entity)


def test_money_sums_and_dates_read_from_sqlite_match_python_formatting():
    """On SQLite the CSV prints what SQLAlchemy would read: ``"%.2f"`` of the stored REAL
    (exact for at most 2 decimals below 1e8, sums included) and the stored timestamp cut
    to seconds. Every cent value of a wide sample, through a sum."""
    lamp = f.product(price=Decimal("1.00"))
    buyer = f.customer()
    samples = [Decimal(cents) / 100 for cents in (*range(0, 1000, 7), 2675, 100_499, 9_999_999_999, 1_234_567_891)]
    for index, money in enumerate(samples):
        f.order(buyer, items=[(lamp, 1, money)], shipping_fee=samples[-1 - index],
                order_date=WHEN.replace(microsecond=index * 997 % 1_000_000))
    rows = assert_export_is_what_the_orm_reads("order")
    totals = {row[7] for row in rows}
    assert {"0.07", "26.75", "1004.99", "99999999.99"} <= totals


def test_csv_reads_timestamps_stored_in_other_forms_like_the_orm(extra_app, tmp_path):
    """A row written outside the ORM (no fraction of a second) still comes out right. SQLite
    keeps timestamps as text, so this runs on a SQLite database of its own in every run."""
    from sqlalchemy import text

    sqlite_app = extra_app(f"sqlite:///{tmp_path / 'timestamps.db'}")
    with sqlite_app.app_context():
        db.create_all()
        orders = [f.order(f.customer(), order_date=WHEN - timedelta(hours=n)) for n in range(3)]
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE orders SET order_date = '2026-11-20 01:02:03' WHERE id = :id"),
                               {"id": orders[1].id})
            connection.execute(text("UPDATE orders SET order_date = '2026-11-19', shipping_fee = 7 WHERE id = :id"),
                               {"id": orders[2].id})
        assert_export_is_what_the_orm_reads("order")
        text_ = b"".join(csv_stream(iter_rows(build_statement(EXPORTS["order"])), EXPORTS["order"].columns)).decode(
            "utf-8-sig")
    assert "2026-11-20T01:02:03+00:00" in text_ and "2026-11-19T00:00:00+00:00,pending" in text_
    assert ",7.00," in text_


def test_xlsx_gets_typed_values_from_what_the_database_stores():
    f.order(f.customer(), items=[(f.product(), 2, Decimal("0.29"))], order_date=WHEN.replace(microsecond=999999),
            shipping_fee=Decimal("99999999.99"))
    sheet, _result = export_xlsx("order")
    values = [cell.value for cell in list(sheet.iter_rows())[1]]
    # (openpyxl keeps milliseconds: .999999 reads back as the next second)
    assert isinstance(values[1], datetime) and abs(values[1] - WHEN.replace(tzinfo=None)) <= timedelta(seconds=1)
    assert (values[7], values[8]) == (0.58, 99999999.99)  # typed, not text
    assert values[6] == "no"


def test_csv_stream_reports_progress_for_every_row():
    f.many_orders(45)
    spec = EXPORTS["order"]
    reported: list[int] = []
    data = b"".join(csv_stream(iter_rows(build_statement(spec)), spec.columns, chunk_chars=512,
                               progress=reported.append))
    assert sum(reported) == 45 == data.count(b"\r\n") - 1
    assert len(reported) > 1  # reported as it goes, not once at the end


def test_rows_of_the_wrong_width_are_refused():
    with pytest.raises(ValueError, match="2 values"):
        b"".join(csv_stream(iter([(1, "a"), (2,)]), [ExportColumn("N", "n", "int"), ExportColumn("T", "t")]))


@pytest.mark.parametrize(
    "cells",
    [
        [[1, 22, -3], ["a", "b", "c"], ["12.50", "-0.01", "0.00"]],
        [[1, 2], ["", ""]],
        [["a,b", "c"], ["x", "y"]],
        [['say "hi"', "c"], ["x", "y"]],
        [["two\nlines", "c"], ["x", "y"]],
        [["cr\rin", "c"], ["x", "y"]],
        [["nul\x00in", "c"], ["x", "y"]],
        [[None, "c"], ["x", "y"]],
        [[1, True], ["x", "y"]],
        [[1.5, 2], ["x", "y"]],
        [["", "a"]],
        [["Zoë ✓", " spaced ", "'quoted"], ["x", "y", "z"]],
    ],
)
def test_lines_joined_without_the_writer_are_the_writers_lines(cells):
    """csv_stream joins a batch's lines itself where no cell needs quoting (the writer's
    per-character checks cost a third of a large export): byte for byte csv.writer's."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(zip(*cells))
    lines = csv_lines(cells)
    if lines is not None:
        assert "\r\n".join(lines) + "\r\n" == buffer.getvalue()
    else:  # left to the writer: anything it quotes or converts
        assert any(isinstance(value, (float, bool)) or value is None or (isinstance(value, str) and
                   any(c in value for c in ',"\r\n')) for column in cells for value in column) or len(cells) < 2
    plain = len(cells) > 1 and all(type(value) in (int, str) and not (isinstance(value, str) and any(
        c in value for c in ',"\r\n')) for column in cells for value in column)
    assert (lines is not None) == plain
