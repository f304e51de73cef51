"""Sales views through their real URLs: orders (items inline), order items, cart items,
the computed money columns, the order workflow's bulk actions and the address picker."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from admin_app.extensions import db
from admin_app.sales.models import CartItem, Order, OrderItem
from tests import factories as f
from tests.conftest import csrf_token_from, login_as
from tests.integration.helpers import assert_no_raw_sql, delete, gone, submit


def bulk(client: Any, action: str, orders: list[Order]) -> str:
    """Tick rows in the order list, pick a bulk action; return the page shown afterwards."""
    page = client.get("/admin/order/")
    ids = [str(o.id) for o in orders]
    response = client.post("/admin/order/action/", data={"csrf_token": csrf_token_from(page.text),
                                                         "action": action, "rowid": ids})
    assert response.status_code == 302, response.text
    return client.get(response.headers["Location"]).text


def flashes(page: str) -> str:
    return " ".join(re.sub(r"\s+", " ", m) for m in re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S))


def status_of(order_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Order, order_id).status


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def view_of(app: Any, endpoint: str) -> Any:
    return next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", None) == endpoint)


def filter_arg(app: Any, endpoint: str, label: str, operation: str) -> str:
    for arg, (_index, flt) in view_of(app, endpoint)._filter_args.items():
        if flt.name == label and str(flt.operation()) == operation:
            return arg
    raise AssertionError(f"no {label!r} {operation!r} filter on {endpoint}")


def column_index(app: Any, endpoint: str, name: str) -> int:
    return [c for c, _label in view_of(app, endpoint)._list_columns].index(name)


def item_fields(n: int, product: Any, quantity: Any, price: Any = "", item_id: int | None = None) -> dict[str, str]:
    fields = {f"items-{n}-product": str(product.id), f"items-{n}-quantity": str(quantity),
              f"items-{n}-price": str(price)}
    if item_id is not None:
        fields[f"items-{n}-id"] = str(item_id)
    return fields


@pytest.fixture
def shop():
    """A customer with an address, and two products."""
    ada = f.customer(username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace")
    home = f.address(ada, street="Home St 1")
    lamp = f.product(name="Desk lamp", price=Decimal("20.00"))
    bulb = f.product(name="Bulb", price=Decimal("2.50"))
    return ada, home, lamp, bulb


def order_form(customer: Any, address: Any, **fields: str) -> dict[str, str]:
    return {"user": str(customer.id), "address": str(address.id), "status": "pending", "shipping_fee": "4.90",
            "notes": "", **fields}


# -- orders -------------------------------------------------------------------------------


def test_create_edit_delete_order(client, staff, shop):
    ada, home, lamp, bulb = shop
    response = submit(client, "/admin/order/new/", {
        **order_form(ada, home, notes="Ring twice"),
        **item_fields(0, lamp, 2, "19.00"), **item_fields(1, bulb, 4),
    })
    assert response.status_code == 302, response.text
    order = db.session.scalars(select(Order)).one()
    assert (order.user_id, order.address_id, order.status, order.shipping_fee, order.notes) == (
        ada.id, home.id, "pending", Decimal("4.90"), "Ring twice")
    # The empty price took the product's current price.
    assert [(i.product_id, i.quantity, i.price) for i in order.items] == [
        (lamp.id, 2, Decimal("19.00")), (bulb.id, 4, Decimal("2.50"))]
    listing = client.get("/admin/order/").text
    assert "Ada Lovelace" in listing and "48.00" in listing and "52.90" in listing

    items = [(i.id, i.product, i.quantity, i.price) for i in order.items]
    response = submit(client, f"/admin/order/edit/?id={order.id}", {
        **order_form(ada, home, status="paid", shipping_fee="0.00", notes=""),
        **item_fields(0, items[0][1], 1, "19.00", items[0][0]), **item_fields(1, items[1][1], 4, "2.50", items[1][0]),
    })
    assert response.status_code == 302, response.text
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert (order.status, order.shipping_fee, order.notes, order.total) == ("paid", Decimal("0.00"), None,
                                                                           Decimal("29.00"))

    # A paid order is cancelled or kept, never deleted; once cancelled, it may go.
    order_id, item_ids = order.id, [i.id for i in order.items]
    refused = delete(client, "order", order_id)
    assert refused.status_code == 302
    assert (f"Order #{order_id} is paid: only pending and cancelled orders can be deleted"
            in html.unescape(client.get(refused.headers["Location"]).text))
    assert not gone(Order, order_id)
    bulk(client, "cancel", [order])
    assert delete(client, "order", order_id).status_code == 302
    assert gone(Order, order_id)
    if db.session.get(Order, order_id) is None:  # hard delete: the items go with the order
        assert all(db.session.get(OrderItem, i) is None for i in item_ids)


@pytest.mark.parametrize("fields, message", [
    ({"shipping_fee": "-1"}, "Enter an amount between 0.00 and 99,999,999.99."),
    ({"shipping_fee": "100000000.00"}, "Enter an amount between 0.00 and 99,999,999.99."),
    ({"shipping_fee": "abc"}, "Not a valid decimal value"),
    ({"status": "lost-in-transit"}, "This order can only be set to: pending."),
    ({"status": "paid"}, "This order can only be set to: pending."),
    ({"status": "delivered"}, "This order can only be set to: pending."),
    ({"user": ""}, "This field is required."),
])
def test_order_form_checks(client, staff, shop, fields, message):
    ada, home, lamp, _bulb = shop
    response = submit(client, "/admin/order/new/", {**order_form(ada, home, **fields), **item_fields(0, lamp, 1)})
    assert response.status_code == 200
    assert message in response.text
    assert_no_raw_sql(response.text)
    assert count(Order) == 0 and count(OrderItem) == 0


@pytest.mark.parametrize("quantity, price, message", [
    ("0", "", "Enter a whole number from 1 to 10,000."),
    ("-3", "", "Enter a whole number from 1 to 10,000."),
    ("1", "-1", "Enter an amount between 0.00 and 99,999,999.99."),
    ("1", "100000000.00", "Enter an amount between 0.00 and 99,999,999.99."),
    ("1", "abc", "Not a valid decimal value"),
    ("1", "1.005", "Enter an amount with at most 2 decimal places."),
])
def test_order_item_rows_are_checked(client, staff, shop, quantity, price, message):
    ada, home, lamp, _bulb = shop
    response = submit(client, "/admin/order/new/", {**order_form(ada, home), **item_fields(0, lamp, quantity, price)})
    assert response.status_code == 200
    assert message in response.text
    assert_no_raw_sql(response.text)
    assert count(Order) == 0 and count(OrderItem) == 0


@pytest.mark.parametrize("field", ["user", "address", "items-0-product"])
@pytest.mark.parametrize("forged", ["abc", "99999", "99999999999999999999", "-1"])
def test_forged_lookup_ids_are_not_a_valid_choice(client, staff, shop, field, forged):
    ada, home, lamp, _bulb = shop
    response = submit(client, "/admin/order/new/",
                      {**order_form(ada, home), **item_fields(0, lamp, 1), field: forged})
    assert response.status_code == 200
    assert "Not a valid choice" in response.text
    assert_no_raw_sql(response.text)
    assert count(Order) == 0
    assert client.get("/admin/order/").status_code == 200


def test_ship_to_must_be_the_customers_address(client, staff, shop):
    ada, _home, lamp, _bulb = shop
    elsewhere = f.address(f.customer(), street="Someone Else St 9")
    response = submit(client, "/admin/order/new/", {**order_form(ada, elsewhere), **item_fields(0, lamp, 1)})
    assert response.status_code == 200
    assert "Choose one of this customer&#39;s addresses." in response.text
    assert count(Order) == 0


def test_order_item_price_may_be_left_empty_in_the_browser(client, staff, shop):
    ada, home, lamp, _bulb = shop
    order = f.order(ada, items=[(lamp, 1, lamp.price)])
    page = client.get(f"/admin/order/edit/?id={order.id}").text
    price_input = re.search(r'<input[^>]*name="items-0-price"[^>]*>', page).group(0)
    assert " required" not in price_input
    assert "Leave empty for the product" in page


# -- inline order items -------------------------------------------------------------------


def test_items_added_changed_and_removed_in_one_save(client, staff, shop):
    ada, home, lamp, bulb = shop
    cable = f.product(name="Cable", price=Decimal("7.25"))
    order = f.order(ada, items=[(lamp, 1, Decimal("20.00")), (bulb, 10, Decimal("2.00"))])
    keep_id, drop_id = (i.id for i in order.items)
    form = client.get(f"/admin/order/edit/?id={order.id}").text
    assert 'name="del-items-1"' in form and 'name="items-1-id"' in form

    # The product's price changes after the order was placed: kept rows keep theirs.
    lamp.price = Decimal("25.00")
    db.session.commit()
    response = submit(client, f"/admin/order/edit/?id={order.id}", {
        **order_form(ada, home),
        **item_fields(0, lamp, 3, "20.00", keep_id),
        **item_fields(1, bulb, 10, "2.00", drop_id), "del-items-1": "on",
        **item_fields(2, cable, 2, ""),
    })
    assert response.status_code == 302, response.text
    db.session.expire_all()
    rows = db.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id).order_by(OrderItem.id)).all()
    assert [(r.product_id, r.quantity, r.price) for r in rows] == [
        (lamp.id, 3, Decimal("20.00")), (cable.id, 2, Decimal("7.25"))]
    assert rows[0].id == keep_id
    assert db.session.get(OrderItem, drop_id) is None
    details = client.get(f"/admin/order/details/?id={order.id}").text
    assert "74.50" in details  # 3 × 20.00 + 2 × 7.25


def test_a_fifty_item_order_is_one_line_per_item(client, staff, shop):
    """Items are a table: one line each (product look-up, quantity, price, delete box) under
    one row of column heads, so an order of fifty items stays a page of under 150 KB."""
    ada, _home, lamp, bulb = shop
    order = f.order(ada, items=[(lamp if n % 2 else bulb, n + 1, Decimal("1.00")) for n in range(50)])
    page = client.get(f"/admin/order/edit/?id={order.id}").text
    assert len(page.encode()) < 150_000, len(page.encode())
    lines = re.findall(r'<div id="items-(\d+)" class="inline-field form-row[^"]*">(.*?)name="del-items-\1"', page, re.S)
    assert [int(n) for n, _line in lines] == list(range(50))
    for (n, line), item in zip(lines, order.items, strict=True):
        assert f'name="items-{n}-id" type="hidden" value="{item.id}"' in line
        # The product named with its SKU, price and stock (issue 22), its price for the running total.
        label = f"{item.product.name} · {item.product.sku} · €{item.product.price} · {item.product.stock:,} in stock"
        suggestion = json.dumps([item.product_id, label, {"price": str(item.product.price)}])
        assert f'data-json="{html.escape(suggestion).replace("&quot;", "&#34;")}"' in line
        assert re.search(rf'aria-label="Quantity"[^>]*name="items-{n}-quantity"[^>]*value="{item.quantity}"', line)
        assert re.search(rf'aria-label="Price"[^>]*name="items-{n}-price"[^>]*value="1.00"', line)
    heads = re.search(r'<div class="form-row d-none d-md-flex[^"]*" aria-hidden="true">(.*?)</div>'
                      r'\s*<div class="inline-field-list">',
                      page, re.S).group(1)
    heads = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())
             for cell in re.findall(r'<div class="col[^"]*">(.*?)</div>', heads, re.S)]
    # An item's price may be left empty (it takes the product's): no asterisk on that column.
    assert heads == ["Product *", "Quantity *", "Price Leave empty for the product's current price.", "Delete?"]
    assert page.count("Leave empty for the product") == 1  # in the heads, not on every line


def test_bad_item_row_saves_nothing_and_keeps_what_was_typed(client, staff, shop):
    ada, home, lamp, bulb = shop
    order = f.order(ada, items=[(lamp, 1, Decimal("20.00"))])
    item_id = order.items[0].id
    response = submit(client, f"/admin/order/edit/?id={order.id}", {
        **order_form(ada, home, notes="Typed note", shipping_fee="6.66"),
        **item_fields(0, lamp, 7, "19.99", item_id),
        **item_fields(1, bulb, 0, "3.33"),
    })
    assert response.status_code == 200
    page = response.text
    assert "Enter a whole number from 1 to 10,000." in page
    assert_no_raw_sql(page)
    # The other rows and fields show what was typed, not what is stored.
    assert re.search(r'name="items-0-quantity"[^>]*value="7"', page)
    assert re.search(r'name="items-0-price"[^>]*value="19.99"', page)
    assert re.search(r'name="items-1-price"[^>]*value="3.33"', page)
    assert "Typed note" in page and 'value="6.66"' in page
    db.session.expire_all()
    rows = db.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)).all()
    assert [(r.id, r.quantity, r.price) for r in rows] == [(item_id, 1, Decimal("20.00"))]
    assert db.session.get(Order, order.id).notes is None


# -- order items and cart items ----------------------------------------------------------


def test_create_edit_delete_order_item(client, staff, shop):
    ada, _home, lamp, bulb = shop
    order = f.order(ada)
    response = submit(client, "/admin/orderitem/new/",
                      {"order": str(order.id), "product": str(lamp.id), "quantity": "2", "price": ""})
    assert response.status_code == 302, response.text
    item = db.session.scalars(select(OrderItem)).one()
    assert (item.order_id, item.product_id, item.quantity, item.price) == (order.id, lamp.id, 2, Decimal("20.00"))
    assert "40.00" in client.get("/admin/orderitem/").text

    response = submit(client, f"/admin/orderitem/edit/?id={item.id}",
                      {"order": str(order.id), "product": str(bulb.id), "quantity": "3", "price": "1.00"})
    assert response.status_code == 302, response.text
    db.session.expire_all()
    item = db.session.get(OrderItem, item.id)
    assert (item.product_id, item.quantity, item.price) == (bulb.id, 3, Decimal("1.00"))

    assert delete(client, "orderitem", item.id).status_code == 302
    assert gone(OrderItem, item.id)


@pytest.mark.parametrize("quantity, price, message", [
    ("0", "1.00", "Enter a whole number from 1 to 10,000."),
    ("1", "-0.01", "Enter an amount between 0.00 and 99,999,999.99."),
    ("1", "100000000.00", "Enter an amount between 0.00 and 99,999,999.99."),
])
def test_order_item_form_checks(client, staff, shop, quantity, price, message):
    ada, _home, lamp, _bulb = shop
    order = f.order(ada)
    response = submit(client, "/admin/orderitem/new/",
                      {"order": str(order.id), "product": str(lamp.id), "quantity": quantity, "price": price})
    assert response.status_code == 200
    assert message in response.text
    assert_no_raw_sql(response.text)
    assert count(OrderItem) == 0


def test_create_edit_delete_cart_item(client, staff, shop):
    ada, _home, lamp, bulb = shop
    response = submit(client, "/admin/cartitem/new/", {"user": str(ada.id), "product": str(lamp.id), "quantity": "2"})
    assert response.status_code == 302, response.text
    item = db.session.scalars(select(CartItem)).one()
    assert (item.user_id, item.product_id, item.quantity) == (ada.id, lamp.id, 2)
    listing = client.get("/admin/cartitem/").text
    assert "Ada Lovelace" in listing and "40.00" in listing

    response = submit(client, f"/admin/cartitem/edit/?id={item.id}",
                      {"user": str(ada.id), "product": str(bulb.id), "quantity": "5"})
    assert response.status_code == 302, response.text
    db.session.expire_all()
    item = db.session.get(CartItem, item.id)
    assert (item.product_id, item.quantity) == (bulb.id, 5)

    assert delete(client, "cartitem", item.id).status_code == 302
    assert gone(CartItem, item.id)


def test_cart_item_quantity_zero_refused(client, staff, shop):
    ada, _home, lamp, _bulb = shop
    response = submit(client, "/admin/cartitem/new/", {"user": str(ada.id), "product": str(lamp.id), "quantity": "0"})
    assert response.status_code == 200
    assert "Enter a whole number from 1 to 10,000." in response.text
    assert count(CartItem) == 0


def test_same_product_twice_in_a_cart_gets_a_message(client, staff, shop):
    ada, _home, lamp, _bulb = shop
    f.cart_item(ada, lamp)
    response = submit(client, "/admin/cartitem/new/", {"user": str(ada.id), "product": str(lamp.id), "quantity": "1"})
    assert response.status_code == 200
    assert "This product is already in the customer&#39;s cart." in response.text
    assert_no_raw_sql(response.text)
    assert count(CartItem) == 1
    assert client.get("/admin/cartitem/").status_code == 200


# -- computed money columns in the lists -------------------------------------------------


def test_order_subtotal_and_total_shown_sorted_and_filtered(app, client, staff, shop):
    ada, _home, lamp, bulb = shop
    small = f.order(ada, items=[(bulb, 1, Decimal("2.50"))], shipping_fee=Decimal("30.00"))   # 2.50 / 32.50
    large = f.order(ada, items=[(lamp, 2, Decimal("20.00"))], shipping_fee=Decimal("0.00"))   # 40.00 / 40.00
    empty = f.order(ada, shipping_fee=Decimal("1.00"))                                        # 0.00 / 1.00
    listing = client.get("/admin/order/").text
    for amount in ("2.50", "32.50", "40.00", "1.00"):
        assert amount in listing

    def order_ids(url: str) -> list[int]:
        page = client.get(url)
        assert page.status_code == 200
        return [int(i) for i in re.findall(r'name="rowid"[^>]*value="(\d+)"', page.text)]

    subtotal, total = column_index(app, "order", "subtotal"), column_index(app, "order", "total")
    assert order_ids(f"/admin/order/?sort={subtotal}") == [empty.id, small.id, large.id]
    assert order_ids(f"/admin/order/?sort={subtotal}&desc=1") == [large.id, small.id, empty.id]
    assert order_ids(f"/admin/order/?sort={total}") == [empty.id, small.id, large.id]
    assert order_ids(f"/admin/order/?sort={total}&desc=1") == [large.id, small.id, empty.id]

    above = filter_arg(app, "order", "Total", "greater than")
    assert sorted(order_ids(f"/admin/order/?flt0_{above}=30")) == sorted([small.id, large.id])
    sub_above = filter_arg(app, "order", "Subtotal", "greater than")
    assert order_ids(f"/admin/order/?flt0_{sub_above}=30") == [large.id]
    sub_equal = filter_arg(app, "order", "Subtotal", "equals")
    assert order_ids(f"/admin/order/?flt0_{sub_equal}=2.50") == [small.id]


def test_order_item_subtotal_shown_sorted_and_filtered(app, client, staff, shop):
    ada, _home, lamp, bulb = shop
    order = f.order(ada, items=[(lamp, 3, Decimal("20.00")), (bulb, 1, Decimal("2.50"))])
    big, small = order.items
    listing = client.get("/admin/orderitem/").text
    assert "60.00" in listing and "Subtotal" in listing

    def item_ids(url: str) -> list[int]:
        page = client.get(url)
        assert page.status_code == 200
        return [int(i) for i in re.findall(r'name="rowid"[^>]*value="(\d+)"', page.text)]

    sort = column_index(app, "orderitem", "subtotal")
    assert item_ids(f"/admin/orderitem/?sort={sort}") == [small.id, big.id]
    assert item_ids(f"/admin/orderitem/?sort={sort}&desc=1") == [big.id, small.id]
    above = filter_arg(app, "orderitem", "Subtotal", "greater than")
    assert item_ids(f"/admin/orderitem/?flt0_{above}=10") == [big.id]


# -- the order workflow -------------------------------------------------------------------


def test_every_transition_through_the_bulk_actions(client, staff, shop):
    ada = shop[0]
    order = f.order(ada)
    for action, status in (("mark_paid", "paid"), ("mark_shipped", "shipped"), ("mark_delivered", "delivered")):
        page = bulk(client, action, [order])
        assert f"1 order marked {status}: #{order.id}." in flashes(page)
        assert status_of(order.id) == status


@pytest.mark.parametrize("start", ["pending", "paid"])
def test_pending_and_paid_orders_can_be_cancelled(client, staff, shop, start):
    order = f.order(shop[0], status=start)
    page = bulk(client, "cancel", [order])
    assert f"1 order marked cancelled: #{order.id}." in flashes(page)
    assert status_of(order.id) == "cancelled"


@pytest.mark.parametrize("start, action, reason", [
    ("delivered", "mark_paid", "a delivered order cannot become paid"),
    ("shipped", "cancel", "a shipped order cannot become cancelled"),
    ("delivered", "cancel", "a delivered order cannot become cancelled"),
    ("cancelled", "mark_paid", "a cancelled order cannot become paid"),
    ("pending", "mark_shipped", "a pending order cannot become shipped"),
    ("pending", "mark_delivered", "a pending order cannot become delivered"),
    ("paid", "mark_paid", "already paid"),
])
def test_invalid_transitions_are_refused_with_the_reason(client, staff, shop, start, action, reason):
    order = f.order(shop[0], status=start)
    page = bulk(client, action, [order])
    assert f"1 order left unchanged: #{order.id} ({reason})." in flashes(page)
    assert "marked" not in flashes(page)
    assert status_of(order.id) == start


def test_mixed_selection_moves_the_valid_ones_and_names_the_others(client, staff, shop):
    ada = shop[0]
    pending, paid = f.order(ada, status="pending"), f.order(ada, status="paid")
    delivered, cancelled = f.order(ada, status="delivered"), f.order(ada, status="cancelled")
    page = bulk(client, "cancel", [pending, paid, delivered, cancelled])
    messages = flashes(page)
    assert f"2 orders marked cancelled: #{pending.id}, #{paid.id}." in messages
    assert (f"2 orders left unchanged: #{delivered.id} (a delivered order cannot become cancelled); "
            f"#{cancelled.id} (already cancelled).") in messages
    assert [status_of(o.id) for o in (pending, paid, delivered, cancelled)] == [
        "cancelled", "cancelled", "delivered", "cancelled"]


def test_bulk_action_needs_a_valid_action_name(client, staff, shop):
    order = f.order(shop[0])
    page = client.get("/admin/order/")
    response = client.post("/admin/order/action/", data={"csrf_token": csrf_token_from(page.text),
                                                         "action": "mark_lost", "rowid": [str(order.id)]})
    assert response.status_code in (302, 403)
    assert status_of(order.id) == "pending"


def test_viewer_cannot_run_the_workflow(client, viewer_user, shop):
    order = f.order(shop[0])
    auth = login_as(client, viewer_user)
    response = auth.post("/admin/order/action/", {"action": "mark_paid", "rowid": str(order.id)})
    assert response.status_code == 403
    assert status_of(order.id) == "pending"


@pytest.mark.parametrize("start, target, allowed", [
    ("delivered", "paid", "delivered"),
    ("pending", "shipped", "pending, paid, cancelled"),
    ("cancelled", "pending", "cancelled"),
    ("shipped", "paid", "shipped, delivered"),
])
def test_edit_form_refuses_an_invalid_status_change(client, staff, shop, start, target, allowed):
    ada, home, lamp, _bulb = shop
    order = f.order(ada, items=[(lamp, 1, Decimal("20.00"))], status=start)
    item_id = order.items[0].id
    response = submit(client, f"/admin/order/edit/?id={order.id}", {
        **order_form(ada, home, status=target), **item_fields(0, lamp, 1, "20.00", item_id)})
    assert response.status_code == 200
    assert f"This order can only be set to: {allowed}." in response.text
    assert status_of(order.id) == start


def test_edit_form_accepts_the_next_status(client, staff, shop):
    ada, home, lamp, _bulb = shop
    order = f.order(ada, items=[(lamp, 1, Decimal("20.00"))], status="paid")
    response = submit(client, f"/admin/order/edit/?id={order.id}", {
        **order_form(ada, home, status="shipped", shipping_fee="0.00"),
        **item_fields(0, lamp, 1, "20.00", order.items[0].id)})
    assert response.status_code == 302, response.text
    assert status_of(order.id) == "shipped"


# -- the address picker -------------------------------------------------------------------


def lookup(client: Any, url: str) -> list[list[Any]]:
    response = client.get(url)
    assert response.status_code == 200
    return json.loads(response.text)


def test_address_picker_offers_only_the_chosen_customers_addresses(client, staff, shop):
    ada, home, _lamp, _bulb = shop
    work = f.address(ada, street="Work St 2")
    other = f.address(f.customer(), street="Other St 3")
    found = lookup(client, f"/admin/order/ajax/lookup/?name=address&query=St&user_id={ada.id}")
    assert sorted(row[0] for row in found) == sorted([home.id, work.id])
    # Without typing anything, the chosen customer's addresses are offered.
    found = lookup(client, f"/admin/order/ajax/lookup/?name=address&query=&user_id={ada.id}")
    assert sorted(row[0] for row in found) == sorted([home.id, work.id])
    # No customer chosen yet: any address matches what was typed.
    found = lookup(client, "/admin/order/ajax/lookup/?name=address&query=Other")
    assert [row[0] for row in found] == [other.id]
    # A forged customer id is ignored, not an error.
    found = lookup(client, "/admin/order/ajax/lookup/?name=address&query=Other&user_id=99999999999999999999")
    assert [row[0] for row in found] == [other.id]


def test_order_form_page_loads_the_picker_script(client, staff, shop):
    page = client.get("/admin/order/new/").text
    match = re.search(r'<script[^>]*src="(/static/js/order_form\.js[^"]*)"', page)
    assert match, "order_form.js is not on the order form"
    script = client.get(match.group(1))
    assert script.status_code == 200
    assert "user_id" in script.text


# -- the order form and details tell which order it is (issue 22) ----------------------------


@pytest.mark.parametrize("page", ["edit", "details"])
def test_order_pages_name_the_order_its_customer_and_status(client, staff, shop, page):
    ada, _home, lamp, _bulb = shop
    order = f.order(ada, [(lamp, 1, Decimal("20.00"))], status="paid")
    text = client.get(f"/admin/order/{page}/?id={order.id}").text
    heading = f"Order #{order.id} · Ada Lovelace · Paid"
    assert f"<title>{heading} - " in text
    assert re.search(rf"<h1[^>]*>{re.escape(heading)}</h1>", text)


def test_order_details_list_items_one_per_line_without_internals(client, staff, shop):
    ada, _home, lamp, bulb = shop
    order = f.order(ada, [(lamp, 2, Decimal("20.00")), (bulb, 3, Decimal("2.50"))])
    text = client.get(f"/admin/order/details/?id={order.id}").text
    table = re.search(r'<table class="table table-sm mb-0 order-items">.*?</table>', text, re.S).group(0)
    rows = re.findall(r"<tr><td[^>]*>(.*?)</tr>", table, re.S)
    assert len(rows) == 2 and "Desk lamp" in rows[0] and "€40.00" in rows[0] and "Bulb" in rows[1]
    assert "Version" not in text and "Deleted" not in text
    updated = re.search(r"<b>Updated</b>\s*</td>\s*<td>\s*(.*?)\s*</td>", text, re.S).group(1)
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{2}, \d{1,2}:\d{2}\s?[AP]M", updated), updated


def test_bulk_actions_in_workflow_order_delete_last(client, staff):
    text = client.get("/admin/order/").text
    names = re.findall(r"modelActions\.execute\('(\w+)'\)", text)
    assert names == ["mark_paid", "mark_shipped", "mark_delivered", "cancel", "delete"]
    menu = text[text.index("execute('cancel')"):text.index("execute('delete')")]
    assert 'class="dropdown-divider"' in menu


@pytest.mark.parametrize("url", ["/admin/order/new/", "/admin/product/new/"])
def test_the_form_leaves_by_a_plain_back_to_the_list_link(client, staff, url):
    text = client.get(url).text
    assert re.search(r'<a href="[^"]*" class="btn btn-link" id="back-to-list">Back to the list</a>', text)
    assert "btn-danger" not in text and ">Cancel<" not in text
    assert "js/unsaved_changes.js" in text


def test_product_lookup_tells_like_named_products_apart_and_a_new_line_is_one(client, staff):
    f.product(name="Modern Linen Kettle", sku="KET-1", price=Decimal("20.00"), stock=3)
    f.product(name="Modern Linen Kettle", sku="KET-2", price=Decimal("1234.50"), stock=0)
    found = client.get("/admin/order/ajax/lookup/", query_string={"name": "orderitem-product", "query": "kettle"}).json
    assert sorted(label for _id, label, _details in found) == [
        "Modern Linen Kettle · KET-1 · €20.00 · 3 in stock", "Modern Linen Kettle · KET-2 · €1,234.50 · 0 in stock"]
    assert sorted(details["price"] for _id, _label, details in found) == ["1234.50", "20.00"]
    template = client.get("/admin/order/new/").text.split('class="inline-field-template', 1)[1]
    # The template Flask-Admin's form.js copies for "Add": quantity 1, not empty.
    assert re.search(r'<input aria-label="Quantity"[^>]*name="quantity"[^>]*value="1">', html.unescape(template))
