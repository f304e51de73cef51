"""An order and a customer are each one thing, through the real admin URLs: one version (a
part changed on its own page makes the whole's open form stale), one life cycle (what an
order's status freezes is read-only in its form and refused on every other page), one
default address, one history. Walks the table of issue 17 again."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

import pytest
from flask import g, request_finished

from admin_app.accounts.models import Address, Customer
from admin_app.extensions import db
from admin_app.sales.models import Order
from tests import factories as f
from tests.conftest import csrf_token_from, read_form
from tests.integration.helpers import assert_no_raw_sql, delete, submit, two_staff

ADDRESS = {"street": "Main St 1", "city": "Berlin", "state": "", "zip_code": "10115", "country": "Germany"}


def text_of(page: str) -> str:
    """The page's text as a person reads it (tags gone, entities decoded, spaces collapsed)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def fresh(model: Any, record_id: int) -> Any:
    db.session.expire_all()
    return db.session.get_one(model, record_id)


@pytest.fixture
def shop() -> dict[str, Any]:
    ada = f.customer(username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace")
    home = f.address(ada, street="Hmoe St 1")
    lamp = f.product(name="Lamp", price=Decimal("10.00"))
    return {"ada": ada, "home": home, "lamp": lamp}


# --- one version per whole ------------------------------------------------------------------


def test_a_customer_form_opened_before_an_address_fix_is_refused_and_says_so(app, shop):
    """Issue 17, row 1: B's address fix was silently reverted by A's customer save."""
    ada, home = shop["ada"], shop["home"]
    anna, bert = two_staff(app)
    customer_url, address_url = f"/admin/customer/edit/?id={ada.id}", f"/admin/address/edit/?id={home.id}"
    anna_form = read_form(anna.client.get(customer_url).text)
    bert_form = read_form(bert.client.get(address_url).text)
    assert bert.post(address_url, {**bert_form, "street": "Home St 1"}).status_code == 302
    refused = anna.post(customer_url, {**anna_form, "first_name": "Augusta"})
    assert refused.status_code == 200
    message = text_of(refused.text)
    # The time in the employee's zone (UTC here) and language's short format (English: 12/1/26, 7:32 PM).
    assert re.search(r"Ada Lovelace was changed by bert at \d{1,2}/\d{1,2}/\d\d, \d{1,2}:\d\d\s?[AP]M "
                     r"\(Address Home St 1, 10115 Berlin, Germany: street\) since you opened it\.", message), message
    shown = read_form(refused.text)  # the current values, to redo the change over
    assert (shown["first_name"], shown["addresses-0-street"]) == ("Ada", "Home St 1")
    assert (fresh(Customer, ada.id).first_name, fresh(Address, home.id).street) == ("Ada", "Home St 1")
    assert anna.post(customer_url, {**shown, "first_name": "Augusta"}).status_code == 302
    assert (fresh(Customer, ada.id).first_name, fresh(Address, home.id).street) == ("Augusta", "Home St 1")


def test_an_order_form_opened_before_an_item_changed_on_its_own_page_is_refused(app, shop):
    order = f.order(shop["ada"], items=[(shop["lamp"], 1, Decimal("10.00"))], notes="old")
    item = order.items[0]
    anna, bert = two_staff(app)
    order_url, item_url = f"/admin/order/edit/?id={order.id}", f"/admin/orderitem/edit/?id={item.id}"
    anna_form = read_form(anna.client.get(order_url).text)
    bert_form = read_form(bert.client.get(item_url).text)
    assert bert.post(item_url, {**bert_form, "quantity": "4"}).status_code == 302
    refused = anna.post(order_url, {**anna_form, "notes": "new"})
    assert refused.status_code == 200
    assert f"Order #{order.id} was changed by bert at" in text_of(refused.text)
    assert "(Order item 4 × Lamp: quantity) since you opened it." in text_of(refused.text)
    saved = fresh(Order, order.id)
    assert (saved.notes, saved.items[0].quantity, saved.total) == ("old", 4, Decimal("40.00"))


def test_a_form_without_its_version_is_refused(client, staff, shop):
    order = f.order(shop["ada"], items=[(shop["lamp"], 1, Decimal("10.00"))])
    url = f"/admin/order/edit/?id={order.id}"
    form = read_form(client.get(url).text)
    del form["loaded_version"]
    refused = staff.post(url, {**form, "notes": "unchecked"})
    assert refused.status_code == 200
    assert (f"The form for Order #{order.id} arrived without the version it was opened with"
            in text_of(refused.text))
    assert read_form(refused.text)["loaded_version"] == str(fresh(Order, order.id).version_id)
    assert fresh(Order, order.id).notes is None
    for forged in ("", "abc", "²"):
        response = staff.post(url, {**form, "loaded_version": forged, "notes": "unchecked"})
        assert "arrived without the version" in text_of(response.text)
    assert fresh(Order, order.id).notes is None


# --- the order's life cycle -----------------------------------------------------------------


def test_the_create_form_offers_only_pending(client, staff):
    page = client.get("/admin/order/new/").text
    assert re.findall(r'<option[^>]*value="(\w+)"', re.search(r'<select[^>]*name="status".*?</select>', page,
                                                             re.S).group(0)) == ["pending"]


@pytest.mark.parametrize("status, offered, frozen", [
    ("pending", ["pending", "paid", "cancelled"], []),
    ("paid", ["paid", "shipped", "cancelled"], ["user", "shipping_fee", "items"]),
    ("shipped", ["shipped", "delivered"], ["user", "address", "shipping_fee", "items"]),
    ("cancelled", ["cancelled"], ["user", "address", "shipping_fee", "items"]),
])
def test_the_order_form_offers_the_next_statuses_and_shows_frozen_fields_read_only(client, staff, shop, status,
                                                                                   offered, frozen):
    order = f.order(shop["ada"], items=[(shop["lamp"], 1, Decimal("10.00"))], status=status)
    page = client.get(f"/admin/order/edit/?id={order.id}").text
    select_ = re.search(r'<select[^>]*name="status".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option[^>]*value="(\w+)"', select_) == offered
    for name in ("user", "address", "shipping_fee", "notes", "items-0-quantity", "items-0-price",
                 "items-0-product"):
        tag = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>', page).group(0)
        assert (" readonly" in tag) == (name.split("-")[0] in frozen), tag
    assert ('name="del-items-0"' in page) == ("items" not in frozen)
    assert ('id="items-button"' in page) == ("items" not in frozen)
    if frozen:
        assert f"The order is {status}: this can no longer change." in page


def test_a_paid_orders_address_may_change_in_its_form_but_not_its_fee(client, staff, shop):
    ada, lamp = shop["ada"], shop["lamp"]
    order = f.order(ada, items=[(lamp, 1, Decimal("10.00"))], status="paid")
    work = f.address(ada, street="Work St 2")
    url = f"/admin/order/edit/?id={order.id}"
    form = read_form(client.get(url).text)
    assert submit(client, url, {**form, "address": str(work.id), "notes": "to work"}).status_code == 302
    assert (fresh(Order, order.id).address_id, fresh(Order, order.id).notes) == (work.id, "to work")
    refused = submit(client, url, {**read_form(client.get(url).text), "shipping_fee": "0.01"})
    assert refused.status_code == 200
    assert f"Order #{order.id} is paid: its shipping fee can no longer change." in text_of(refused.text)
    assert_no_raw_sql(refused.text)
    assert fresh(Order, order.id).shipping_fee == Decimal("0.00")


@pytest.mark.parametrize("status", ["shipped", "cancelled"])
def test_a_shipped_or_cancelled_orders_items_are_refused_on_every_page(client, staff, shop, status):
    """Issue 17, row 2: a shipped order's quantity and total changed from its form."""
    lamp = shop["lamp"]
    order = f.order(shop["ada"], items=[(lamp, 1, Decimal("10.00"))], status=status)
    item_id = order.items[0].id
    message = f"Order #{order.id} is {status}: its items can no longer change"
    url = f"/admin/order/edit/?id={order.id}"
    attempts = [
        (url, {**read_form(client.get(url).text), "items-0-quantity": "9"}),                     # forged inline row
        (url, {**read_form(client.get(url).text), "items-1-product": str(lamp.id), "items-1-quantity": "1",
               "items-1-price": ""}),                                                            # a new line
        (url, {**read_form(client.get(url).text), "del-items-0": "on"}),                          # a removed line
        (f"/admin/orderitem/edit/?id={item_id}",
         {**read_form(client.get(f"/admin/orderitem/edit/?id={item_id}").text), "quantity": "9"}),  # its own page
        ("/admin/orderitem/new/", {"order": str(order.id), "product": str(lamp.id), "quantity": "1",
                                   "price": ""}),
    ]
    for target, data in attempts:
        response = submit(client, target, data)
        assert response.status_code == 200, target
        assert message in text_of(response.text), target
        assert_no_raw_sql(response.text)
    page = client.get("/admin/orderitem/")
    response = client.post("/admin/orderitem/delete/", data={"csrf_token": csrf_token_from(page.text),
                                                             "id": str(item_id)}, follow_redirects=True)
    assert message in text_of(response.text)
    saved = fresh(Order, order.id)
    assert ([(i.id, i.quantity) for i in saved.items], saved.total, saved.status) == (
        [(item_id, 1)], Decimal("10.00"), status)


def test_only_pending_and_cancelled_orders_are_deleted_and_the_others_are_named(client, staff, shop):
    ada = shop["ada"]
    pending, paid = f.order(ada), f.order(ada, status="paid")
    delivered, cancelled = f.order(ada, status="delivered"), f.order(ada, status="cancelled")
    page = client.get("/admin/order/")
    response = client.post("/admin/order/action/", data={
        "csrf_token": csrf_token_from(page.text), "action": "delete",
        "rowid": [str(o.id) for o in (pending, paid, delivered, cancelled)]}, follow_redirects=True)
    shown = text_of(response.text)
    assert f"2 records deleted: #{pending.id}" in shown
    for order, status in ((paid, "paid"), (delivered, "delivered")):
        assert f"Order #{order.id} is {status}: only pending and cancelled orders can be deleted" in shown
    db.session.expire_all()
    assert [db.session.get(Order, o.id).deleted_at is not None for o in (pending, paid, delivered, cancelled)] == [
        True, False, False, True]
    refused = delete(client, "order", delivered.id)
    assert "is delivered: only pending and cancelled orders can be deleted" in text_of(
        client.get(refused.headers["Location"]).text)


# --- one default address per customer ---------------------------------------------------------


def test_two_addresses_ticked_as_default_in_the_customer_form_are_refused(client, staff, shop):
    """Issue 17, row 4: a customer with two addresses both marked default was saved."""
    ada = shop["ada"]
    url = f"/admin/customer/edit/?id={ada.id}"
    form = read_form(client.get(url).text)
    new_rows = {f"addresses-{n}-{k}": v for n in (1, 2) for k, v in {**ADDRESS, "is_default": "y"}.items()}
    response = submit(client, url, {**form, **new_rows})
    assert response.status_code == 200
    assert "Ada Lovelace can have only one default address" in text_of(response.text)
    assert len(fresh(Customer, ada.id).addresses) == 1


def test_choosing_a_new_default_unsets_the_old_one_from_either_page(client, staff, shop):
    ada, home = shop["ada"], shop["home"]
    work = f.address(ada, street="Work St 2", is_default=True)
    # On the Addresses page: home becomes the default, work stops being it.
    url = f"/admin/address/edit/?id={home.id}"
    assert submit(client, url, {**read_form(client.get(url).text), "is_default": "y"}).status_code == 302
    assert (fresh(Address, home.id).is_default, fresh(Address, work.id).is_default) == (True, False)
    # In the customer's form: the old default stays ticked, a new one is ticked: the new one wins.
    url = f"/admin/customer/edit/?id={ada.id}"
    form = read_form(client.get(url).text)
    assert (form["addresses-0-is_default"], form.get("addresses-1-is_default")) == ("y", None)
    assert submit(client, url, {**form, "addresses-1-is_default": "y"}).status_code == 302
    assert (fresh(Address, home.id).is_default, fresh(Address, work.id).is_default) == (False, True)


# --- the history of a whole ---------------------------------------------------------------------


def history_rows(page: str) -> list[list[str]]:
    """The history table's rows: [when, by, action, record, changes] as text."""
    body = re.search(r'<table[^>]*id="record-history".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [[text_of(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_an_orders_and_a_customers_history_show_their_parts(client, admin, shop):
    """Issue 17, row 3: an order's History page showed only the order's own changes."""
    ada, home, lamp = shop["ada"], shop["home"], shop["lamp"]
    order = f.order(ada, items=[(lamp, 1, Decimal("10.00"))])
    url = f"/admin/order/edit/?id={order.id}"
    assert submit(client, url, {**read_form(client.get(url).text), "items-0-quantity": "3",
                                "notes": "Ring twice"}).status_code == 302
    page = client.get(f"/admin/auditlog/record/Order/{order.id}/")
    assert page.status_code == 200
    rows = history_rows(page.text)
    assert [(by, action, record) for _when, by, action, record, _changes in rows] == [
        ("admin1", "update", "Order item 3 × Lamp"), ("admin1", "update", "This order"),
        ("system", "create", "Order item 1 × Lamp"), ("system", "create", "This order")]
    assert rows[0][4] == "quantity : 1 → 3" and rows[1][4] == "notes : null → Ring twice"
    rows = history_rows(client.get(f"/admin/auditlog/record/Customer/{ada.id}/").text)
    assert [(action, record) for _when, _by, action, record, _changes in rows] == [
        ("create", f"Address {home}"), ("create", "This customer")]


# --- no request state between view hooks ---------------------------------------------------------


def test_views_keep_no_request_state_in_g(app, client, staff, shop):
    """What one hook needs from another is passed as an argument: a list with a search and the
    Deleted filter, a failed save and a refused one leave nothing of theirs in ``flask.g``."""
    seen: list[set[str]] = []

    def record(sender: Any, response: Any, **extra: Any) -> None:
        seen.append(set(vars(g)))

    order = f.order(shop["ada"], items=[(shop["lamp"], 1, Decimal("10.00"))], status="paid")
    view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", None) == "order")
    deleted = next(arg for arg, (_index, flt) in view._filter_args.items() if flt.name == "Deleted")
    with request_finished.connected_to(record, app):
        assert client.get(f"/admin/order/?search=ada&flt0_{deleted}=all").status_code == 200
        submit(client, f"/admin/order/edit/?id={order.id}", {**read_form(client.get(
            f"/admin/order/edit/?id={order.id}").text), "shipping_fee": "1.00"})
        submit(client, "/admin/customer/new/", {"username": "ada", "email": "ada@example.com"})
    assert seen and not any(keys & {"admin_form", "include_deleted", "searching"} for keys in seen)
