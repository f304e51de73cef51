"""List exports through the admin URLs: exactly the rows the list shows (search, filters,
sort, soft delete), in the list's order, read as plain rows (no ORM objects)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import event

from admin_app.accounts.models import Customer
from admin_app.extensions import db
from admin_app.sales.models import Order
from tests import factories as f
from tests.conftest import login_as

WHEN = datetime(2026, 11, 25, 14, 53, 56, tzinfo=UTC)
ROWID = re.compile(r'name="rowid"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="rowid"')


def order_view(app: Any) -> Any:
    return next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", None) == "order")


def sort_index(app: Any, name: str) -> int:
    return [column for column, _label in order_view(app)._list_columns].index(name)


def filter_arg(app: Any, label: str, operation: str) -> str:
    view = order_view(app)
    for index, flt in enumerate(view._filters):
        if str(flt.name) == label and str(flt.operation()) == operation:
            return f"flt0_{view.get_filter_arg(index, flt)}"
    raise AssertionError(f"no filter {label!r} {operation!r}")


def listed_ids(client: Any, params: dict[str, Any]) -> list[int]:
    """The ids on every list page, page after page, as a user paging through sees them."""
    ids: list[int] = []
    for page in range(100):
        html = client.get("/admin/order/?" + urlencode({**params, "page": page})).text
        found = [int(a or b) for a, b in ROWID.findall(html)]
        if not found:
            return ids
        ids += found
    raise AssertionError("too many pages")


def exported(client: Any, params: dict[str, Any], kind: str = "csv") -> list[dict[str, str]]:
    response = client.get(f"/admin/order/export/{kind}/?" + urlencode(params))
    assert response.status_code == 200, response.text
    data = response.get_data()
    assert data.startswith(codecs.BOM_UTF8)
    header, *rows = csv.reader(io.StringIO(data[len(codecs.BOM_UTF8):].decode("utf-8"), newline=""))
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.fixture
def shop(db: Any) -> dict[str, Any]:
    """45 orders of "shopper" customers (distinct totals and dates, some paid, one cancelled and deleted)
    and a few of someone else. No two orders tie on a sort column: the list itself has no
    tie-breaker, so tied rows could come in any order there."""
    lamp = f.product(price=Decimal("1.00"))
    matching: list[Order] = []
    for n in range(45):
        buyer = f.customer(username=f"shopper{n:02d}", email=f"shopper{n:02d}@example.com")
        status = "paid" if n % 3 else "pending"
        matching.append(f.order(buyer, items=[(lamp, n + 1, Decimal("1.00"))], status=status,
                                order_date=WHEN - timedelta(hours=(n * 7) % 45),
                                shipping_fee=Decimal("0.50")))
    others = [f.order(f.customer(username=f"zed{n}"), items=[(lamp, 100 + n, Decimal("1.00"))], status="paid",
                      order_date=WHEN - timedelta(minutes=n + 1)) for n in range(3)]
    gone = matching[4]
    gone.status = "cancelled"  # a paid order is cancelled before it may be deleted
    db.session.commit()
    gone.soft_delete()
    db.session.commit()
    return {"matching": matching, "others": others, "gone": gone}


@pytest.fixture
def staff_client(client: Any, staff_user: Any) -> Any:
    login_as(client, staff_user)
    return client


def test_search_filter_and_sort_export_the_list_pages_in_order(app, staff_client, shop):
    params = {"search": "shopper", filter_arg(app, "Status", "equals"): "paid",
              "sort": sort_index(app, "total"), "desc": 1}
    pages = listed_ids(staff_client, params)
    rows = exported(staff_client, params)
    assert [int(row["ID"]) for row in rows] == pages
    expected = [o for o in shop["matching"] if o.status == "paid" and o is not shop["gone"]]
    assert len(pages) == len(expected) > 20  # more than one list page
    assert [int(row["Total"].split(".")[0]) for row in rows] == sorted(
        (int(o.items[0].quantity) for o in expected), reverse=True)
    # The totals of a narrowed export come from the same grouped subquery, restricted.
    first = rows[0]
    assert (first["Subtotal"], first["Shipping fee"]) == (f"{Decimal(first['Total']) - Decimal('0.50'):.2f}", "0.50")


def test_sort_through_a_relationship_uses_the_joined_customer(app, staff_client, shop):
    for desc in (0, 1):
        params = {"search": "shopper", "sort": sort_index(app, "user"), "desc": desc}
        rows = exported(staff_client, params)
        assert [int(row["ID"]) for row in rows] == listed_ids(staff_client, params)
        names = [row["Customer"] for row in rows]
        assert names == sorted(names, reverse=bool(desc)) and len(names) == 44


def test_default_sort_without_search_exports_every_live_order(app, staff_client, shop):
    rows = exported(staff_client, {})
    assert [int(row["ID"]) for row in rows] == listed_ids(staff_client, {})
    assert shop["gone"].id not in {int(row["ID"]) for row in rows}
    assert len(rows) == 47
    dates = [(row["Order date (UTC)"], int(row["ID"])) for row in rows]
    assert dates == sorted(dates, reverse=True)  # newest first, then highest id


def test_the_deleted_filter_exports_only_deleted_orders(app, staff_client, shop):
    view = order_view(app)
    index, deleted = next((i, flt) for i, flt in enumerate(view._filters) if type(flt).__name__ == "DeletedFilter")
    arg = f"flt0_{view.get_filter_arg(index, deleted)}"
    pages = listed_ids(staff_client, {arg: "only"})
    rows = exported(staff_client, {arg: "only"})
    assert [int(row["ID"]) for row in rows] == pages == [shop["gone"].id]
    every = exported(staff_client, {arg: "all", "sort": sort_index(app, "total")})
    assert [int(row["ID"]) for row in every] == listed_ids(staff_client, {arg: "all", "sort": sort_index(app, "total")})
    assert len(every) == 48 and shop["gone"].id in {int(row["ID"]) for row in every}


def test_the_list_export_builds_no_orm_objects(app, staff_client, shop):
    loads: list[Any] = []

    def loaded(target: Any, context: Any) -> None:
        loads.append(target)

    event.listen(Order, "load", loaded)
    event.listen(Customer, "load", loaded)
    try:
        rows = exported(staff_client, {"search": "shopper", "sort": sort_index(app, "user")})
    finally:
        event.remove(Order, "load", loaded)
        event.remove(Customer, "load", loaded)
    assert len(rows) == 44
    assert loads == []


def test_xlsx_export_has_the_same_rows_as_csv(app, staff_client, shop):
    from openpyxl import load_workbook

    params = {"search": "shopper", "sort": sort_index(app, "total")}
    response = staff_client.get("/admin/order/export/xlsx/?" + urlencode(params))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ids == [int(row["ID"]) for row in exported(staff_client, params)]


def test_every_list_exports_with_every_sort(app, staff_client, db):
    """Each view's export, sorted by each of its sortable columns both ways, has the list's rows."""
    author = f.employee()
    parent = f.category(name="Parent")
    for n in range(3):
        buyer = f.customer()
        item = f.product(category=f.category(parent=parent) if n else None)
        f.order(buyer, items=[(item, n + 1, item.price)])
        f.cart_item(buyer, item)
        f.comment(f.post(author, category=parent, tags=[f.tag()]), user=buyer if n else None)
    for view in app.extensions["admin"][0]._views:
        if not getattr(view, "can_export", False) or view.endpoint in ("auditlog", "employee"):
            continue  # admins only
        columns = [name for name, _label in view._list_columns]
        for name in [None, *(name for name in view._sortable_columns if name in columns)]:
            for desc in (0, 1):
                params = {} if name is None else {"sort": columns.index(name), "desc": desc}
                response = staff_client.get(f"/admin/{view.endpoint}/export/csv/?" + urlencode(params))
                assert response.status_code == 200, (view.endpoint, name)
                page = staff_client.get(f"/admin/{view.endpoint}/?" + urlencode({**params, "page_size": 100}))
                listed = len(ROWID.findall(page.text))
                lines = response.get_data().decode("utf-8-sig").count("\r\n")
                assert lines - 1 == listed > 0, (view.endpoint, name, lines, listed)


def cli_export(runner: Any, entity: str, search: str | None) -> list[list[str]]:
    args = ["export", entity] + (["--search", search] if search is not None else [])
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    data = result.stdout_bytes
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data[len(codecs.BOM_UTF8):].decode("utf-8"), newline="")))


def view_export(client: Any, entity: str, search: str | None) -> list[list[str]]:
    response = client.get(f"/admin/{entity}/export/csv/?" + urlencode({} if search is None else {"search": search}))
    assert response.status_code == 200, (entity, response.status_code)
    data = response.get_data()
    return list(csv.reader(io.StringIO(data[len(codecs.BOM_UTF8):].decode("utf-8"), newline="")))


def view_list_count(app: Any, client: Any, entity: str, search: str | None) -> int:
    """How many rows the list shows, page after page (a read-only list has no row
    checkboxes: its first column's cells are counted)."""
    view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", None) == entity)
    first_cell = f'<td class="col-{view._list_columns[0][0]}">'
    count = 0
    for page in range(100):
        params = {"page_size": 100, "page": page, **({} if search is None else {"search": search})}
        found = client.get(f"/admin/{entity}/?" + urlencode(params)).text.count(first_cell)
        if not found:
            return count
        count += found
    raise AssertionError("too many pages")


EVERY_ENTITY = ("order", "orderitem", "cartitem", "product", "category", "customer", "address", "post", "comment",
                "tag", "employee", "auditlog")


@pytest.mark.parametrize("entity", EVERY_ENTITY)
def test_the_view_export_and_the_cli_export_give_the_same_rows_for_the_same_search(app, admin, runner, entity):
    """One definition per export: the list's export and ``manage.py export`` take columns
    and search from the same specification, so the same search gives the same rows (the
    list's order is its own sort, the command's the specification's default)."""
    author = f.employee(username="writer7")
    parent = f.category(name="Garden 7")
    for n in range(4):
        buyer = f.customer(username=f"buyer{n}", email=f"buyer{n}@example.org")
        item = f.product(name=f"Lamp {n}", sku=f"L-{n}7", category=f.category(name=f"Lights {n}", parent=parent))
        f.order(buyer, items=[(item, n + 1, item.price)], status="pending")
        f.cart_item(buyer, item)
        f.address(buyer, street=f"{n} Main Street", city="Springfield 7" if n % 2 else "Shelbyville")
        post = f.post(author, title=f"News {n}", category=parent, tags=[f.tag(name=f"tag{n}")])
        f.comment(post, user=buyer, author_name=f"reader{n}", body="=SUM(A1) 7" if n % 2 else "plain")
    f.customer(username="gone7").soft_delete()
    f.product(name="Lamp gone").soft_delete()
    db.session.commit()
    searched = 0
    for search in (None, "7", "1", "buyer2", "Lamp", "pending", "%", "gone", "no such thing"):
        listed = view_export(admin.client, entity, search)
        command = cli_export(runner, entity, search)
        assert listed[0] == command[0], entity  # the same columns
        assert sorted(listed[1:]) == sorted(command[1:]), (entity, search)
        assert len(listed) - 1 == view_list_count(app, admin.client, entity, search), (entity, search)
        searched += 0 < len(listed) - 1 < len(view_export(admin.client, entity, None)) - 1
    assert searched, f"no search narrowed the {entity} export down"


@pytest.mark.parametrize(("label", "path", "value"), [
    ("Status", "status", "paid"), ("Total", "total", "6.50"), ("Shipping", "shipping_fee", "0.50"),
    ("Customer", "user.username", "shopper07"), ("Status", "status", "nothing"),
])
def test_the_cli_filters_as_the_list_filters(app, staff_client, runner, shop, label, path, value):
    """``manage.py export --filter NAME=VALUE`` takes the list's filter columns from the same
    specification and keeps the rows the list's "equals" filter keeps."""
    listed = exported(staff_client, {filter_arg(app, label, "equals"): value})
    result = runner.invoke(args=["export", "order", "--filter", f"{path}={value}"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"), newline="")))
    command = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert sorted(row["ID"] for row in command) == sorted(row["ID"] for row in listed)
    assert (len(command) > 0) == (value != "nothing")


def test_the_cli_refuses_a_filter_the_list_does_not_have(runner, db):
    result = runner.invoke(args=["export", "order", "--filter", "notes=x"])
    assert result.exit_code == 2 and "NAME one of: status, order_date" in result.output
    result = runner.invoke(args=["export", "order", "--filter", "total=abc"])
    assert result.exit_code == 2 and "total: 'abc' is not a valid value" in result.output


def test_only_the_deleted_filter_asks_session_hooks_for_deleted_rows(app, staff_client, shop):
    """A soft-delete hook on the session (do_orm_execute) sees ``include_deleted`` on the
    export's statement only when the list shows deleted rows, not for a plain search."""
    from sqlalchemy.orm import Session

    seen: list[bool] = []

    def record(state: Any) -> None:
        if state.is_select and state.execution_options.get("yield_per"):  # the export's rows
            seen.append(state.execution_options.get("include_deleted", False))

    view = order_view(app)
    index, deleted = next((i, flt) for i, flt in enumerate(view._filters) if type(flt).__name__ == "DeletedFilter")
    event.listen(Session, "do_orm_execute", record)
    try:
        exported(staff_client, {"search": "shopper"})
        exported(staff_client, {f"flt0_{view.get_filter_arg(index, deleted)}": "only"})
        exported(staff_client, {})
    finally:
        event.remove(Session, "do_orm_execute", record)
    assert seen == [False, True, False]
