"""The stock ledger through the admin's real URLs (issue 23): the product form's opening and
read-only stock, Adjust stock from a product's page and as a bulk action, the movements on a
product's page and in its history, and orders that cannot take more than is left (the order
form's item line, the Order items page, restore)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from admin_app.catalog.models import Product, StockMovement
from admin_app.catalog.stock import adjust_stock, stock_differences
from admin_app.extensions import db
from admin_app.sales.models import Order, OrderItem
from tests import factories as f
from tests.conftest import csrf_token_from
from tests.integration.helpers import assert_no_raw_sql, submit

ONE = Decimal("1.00")


def flashes(page: str) -> str:
    return " ".join(re.sub(r"\s+", " ", m) for m in re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S))


def stock_of(product_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Product.stock).where(Product.id == product_id))


def reasons(product_id: int) -> list[tuple[int, str]]:
    return [tuple(row) for row in db.session.execute(
        select(StockMovement.quantity, StockMovement.reason).where(StockMovement.product_id == product_id)
        .order_by(StockMovement.id))]


def adjust(client: Any, ids: list[int], **fields: str) -> Any:
    url = "/admin/product/adjust-stock/?" + "&".join(f"id={i}" for i in ids)
    return submit(client, url, {"id": [str(i) for i in ids], **fields})


def test_a_new_products_opening_stock_and_a_stored_ones_read_only_stock(client, staff):
    response = submit(client, "/admin/product/new/", {"name": "Lamp", "price": "10.00", "stock": "7"})
    assert response.status_code == 302, response.text
    lamp = db.session.scalars(select(Product)).one()
    assert reasons(lamp.id) == [(7, "opening_balance")]
    form = client.get(f"/admin/product/edit/?id={lamp.id}").text
    assert 'name="stock"' not in form and "Stock: 7" in form and "Adjust stock" in form
    # A stock posted to the edit form anyway changes nothing.
    saved = submit(client, f"/admin/product/edit/?id={lamp.id}", {"name": "Lamp", "price": "11.00", "stock": "70"})
    assert saved.status_code == 302
    assert stock_of(lamp.id) == 7 and db.session.get(Product, lamp.id).price == Decimal("11.00")


def test_adjust_stock_from_a_products_page(client, staff, staff_user):
    lamp = f.product(name="Lamp", stock=3)
    page = client.get(f"/admin/product/details/?id={lamp.id}").text
    assert f'href="/admin/product/adjust-stock/?id={lamp.id}"' in page
    response = adjust(client, [lamp.id], quantity="12", reason="received", note="Delivery 4711")
    assert (response.status_code, response.headers["Location"]) == (302, f"/admin/product/details/?id={lamp.id}")
    shown = client.get(response.headers["Location"]).text
    assert "Stock adjusted: Lamp 3 → 15." in flashes(shown)
    body = shown[shown.index('id="stock-movements"'):]
    body = body[body.index("<tbody>"):]
    first_row = body[:body.index("</tr>")]
    assert "+12" in first_row and "Received" in first_row and "Delivery 4711" in first_row and "15" in first_row
    assert stock_of(lamp.id) == 15
    (entry,) = f.audit_entries(lamp, "stock")
    assert (entry.actor_label, entry.changes) == (
        staff_user.username, {"stock": [3, 15], "reason": "received", "note": "Delivery 4711"})


def test_each_movement_shows_in_the_products_history(client, admin):
    lamp = f.product(name="Lamp", stock=3)
    adjust(client, [lamp.id], quantity="2", reason="received", note="Delivery 4711")
    history = client.get(f"/admin/auditlog/record/Product/{lamp.id}/").text
    assert "Delivery 4711" in history and "received" in history and "3 → 5" in history


def test_adjust_stock_says_what_is_wrong_on_the_field(client, staff):
    lamp = f.product(name="Lamp", sku="L-1", stock=3)
    for quantity, message in (("0", "0 changes nothing"), ("", "Enter how many units come in"),
                              ("2.5", "Not a valid integer value"), ("-4", "only 3 left, 4 taken out")):
        response = adjust(client, [lamp.id], quantity=quantity, reason="correction")
        assert response.status_code == 200, quantity
        field = response.text[response.text.index('id="quantity"'):]
        assert message in field[:field.index("</div>") + 200], quantity
        assert_no_raw_sql(response.text)
    refused = adjust(client, [lamp.id], quantity="5", reason="order_placed")
    assert refused.status_code == 200 and "Not a valid choice" in refused.text
    assert stock_of(lamp.id) == 3 and reasons(lamp.id) == [(3, "opening_balance")]


def test_adjust_stock_as_a_bulk_action_is_all_or_nothing(client, staff):
    lamp, desk = f.product(name="Lamp", stock=5), f.product(name="Desk", stock=1)
    page = client.get("/admin/product/").text
    assert "modelActions.execute('adjust_stock')" in page
    chosen = client.post("/admin/product/action/", data={
        "csrf_token": csrf_token_from(page), "action": "adjust_stock", "rowid": [str(lamp.id), str(desk.id)]})
    assert chosen.status_code == 302
    form = client.get(chosen.headers["Location"]).text
    assert "Adjust the stock of 2 products" in form and "Lamp" in form and "Desk" in form
    short = adjust(client, [lamp.id, desk.id], quantity="-2", reason="correction")
    assert short.status_code == 200 and "Desk" in short.text and "only 1 left" in short.text
    assert (stock_of(lamp.id), stock_of(desk.id)) == (5, 1)  # the lamp's part was rolled back too
    done = adjust(client, [lamp.id, desk.id], quantity="4", reason="received", url="/admin/product/")
    assert (done.status_code, done.headers["Location"]) == (302, "/admin/product/")
    assert (stock_of(lamp.id), stock_of(desk.id)) == (9, 5)


def test_viewers_cannot_adjust_stock(client, app, viewer_user):
    from tests.conftest import login_as
    lamp = f.product(stock=3)
    login_as(client, viewer_user)
    assert client.get(f"/admin/product/adjust-stock/?id={lamp.id}").status_code == 403
    assert "Adjust stock" not in client.get(f"/admin/product/details/?id={lamp.id}").text
    assert stock_of(lamp.id) == 3


def test_a_products_page_lists_its_movements_with_links_to_the_orders(client, staff):
    lamp = f.product(name="Lamp", stock=5)
    order = f.order(items=[(lamp, 2, ONE)])
    page = client.get(f"/admin/product/details/?id={lamp.id}").text
    table = page[page.index('id="stock-movements"'):]
    rows = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"):], re.S)
    assert "Order placed" in rows[0] and f'href="/admin/order/details/?id={order.id}"' in rows[0]
    assert "−2" in rows[0] and "Opening balance" in rows[1]


def order_post(order: Order, quantity: int, product: Product) -> dict[str, str]:
    return {"user": str(order.user_id), "address": str(order.address_id), "status": "pending",
            "shipping_fee": "0.00", "notes": "", "items-0-id": str(order.items[0].id),
            "items-0-product": str(product.id), "items-0-quantity": str(quantity), "items-0-price": "1.00"}


def test_the_order_form_names_the_product_and_what_is_left_on_the_item_line(client, staff):
    lamp = f.product(name="Lamp", sku="L-1", stock=3)
    order = f.order(items=[(lamp, 1, ONE)])
    response = submit(client, f"/admin/order/edit/?id={order.id}", order_post(order, 5, lamp))
    assert response.status_code == 200
    line = response.text[response.text.index('name="items-0-quantity"'):]
    line = line[:line.index('name="items-0-price"')]
    assert f"Order #{order.id} needs 4 more of Lamp (L-1), but only 2 left in stock." in line
    assert_no_raw_sql(response.text)
    assert stock_of(lamp.id) == 2
    db.session.expire_all()
    assert db.session.get(Order, order.id).items[0].quantity == 1
    ok = submit(client, f"/admin/order/edit/?id={order.id}", order_post(order, 3, lamp))
    assert ok.status_code == 302 and stock_of(lamp.id) == 0


def test_the_order_items_page_obeys_the_stock_too(client, staff):
    lamp = f.product(name="Lamp", sku=None, stock=2)
    order = f.order(items=[(lamp, 1, ONE)])
    item = order.items[0]
    response = submit(client, f"/admin/orderitem/edit/?id={item.id}", {
        "order": str(order.id), "product": str(lamp.id), "quantity": "4", "price": "1.00"})
    assert response.status_code == 200
    field = response.text[response.text.index('name="quantity"'):]
    assert "needs 3 more of Lamp, but only 1 left in stock" in field[:1500]
    assert stock_of(lamp.id) == 1 and db.session.get(OrderItem, item.id).quantity == 1


def test_restoring_an_order_without_enough_stock_is_refused_with_a_message(client, staff):
    lamp = f.product(name="Lamp", sku=None, stock=2)
    order = f.order(items=[(lamp, 2, ONE)])
    order.soft_delete()
    db.session.commit()
    adjust_stock(lamp, -1, "correction")
    db.session.commit()
    page = client.get(f"/admin/order/edit/?id={order.id}")
    response = client.post("/admin/order/restore/", data={"csrf_token": csrf_token_from(page.text),
                                                          "id": str(order.id)})
    assert response.status_code == 302
    shown = client.get(response.headers["Location"]).text
    assert f"Not restored: Order #{order.id} needs 2 more of Lamp, but only 1 left in stock." in flashes(shown)
    db.session.expire_all()
    assert db.session.scalar(select(Order.deleted_at).where(Order.id == order.id)
                             .execution_options(include_deleted=True)) is not None
    assert stock_of(lamp.id) == 1 and stock_differences() == []


def test_cancelling_in_bulk_puts_the_goods_back(client, staff):
    lamp = f.product(name="Lamp", stock=5)
    orders = [f.order(items=[(lamp, 2, ONE)]), f.order(items=[(lamp, 1, ONE)], status="paid")]
    page = client.get("/admin/order/").text
    response = client.post("/admin/order/action/", data={"csrf_token": csrf_token_from(page), "action": "cancel",
                                                        "rowid": [str(o.id) for o in orders]})
    assert response.status_code == 302
    assert stock_of(lamp.id) == 5
    assert [r for _q, r in reasons(lamp.id)].count("order_cancelled") == 2
