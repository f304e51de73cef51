"""Soft delete, the Deleted filter, restore and purge, for every soft-deletable entity."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import inspect, select

from admin_app.accounts.models import Customer
from admin_app.catalog.models import Category, Product
from admin_app.content.models import Comment, Post
from admin_app.core.soft_delete_view import DeletedFilter
from admin_app.extensions import db
from admin_app.sales.models import Order, OrderItem
from tests import factories as f
from tests.conftest import login_as, read_form


@dataclass
class Case:
    endpoint: str
    model: type
    make: Callable[[], Any]
    lookup: tuple[str, str] | None          # (view endpoint, ajax field) that suggests it


CASES = [
    Case("customer", Customer, lambda: f.customer(username="zebedee", email="zebedee@example.com",
                                                   first_name="Zeb", last_name="Edee"),
         ("order", "user")),
    Case("product", Product, lambda: f.product(name="Zanzibar lamp", sku="ZAN-1"),
         ("orderitem", "product")),
    Case("category", Category, lambda: f.category(name="Zoology"), ("product", "category")),
    Case("order", Order, lambda: f.order(f.customer(username="ozzy"), notes="rush"),
         None),
    Case("post", Post, lambda: f.post(title="Zesty news"), ("comment", "post")),
    Case("comment", Comment, lambda: f.comment(body="Zealous comment", author_name="Zed"),
         None),
]
IDS = [c.endpoint for c in CASES]


def search_term(case: Case, record: Any) -> str:
    return {"customer": "zebedee", "product": "Zanzibar", "category": "Zoology", "order": "ozzy",
            "post": "Zesty", "comment": "Zealous"}[case.endpoint]


def deleted_filter_arg(app, endpoint: str) -> str:
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)
    index = next(i for i, flt in enumerate(view._filters) if isinstance(flt, DeletedFilter))
    return f"flt0_{view.get_filter_arg(index, view._filters[index])}"


def snapshot(record: Any) -> dict[str, Any]:
    db.session.expire_all()
    fresh = db.session.get(type(record), record.id)
    skip = {"updated_at", "version_id", "deleted_at"}
    return {a.key: getattr(fresh, a.key) for a in inspect(type(record)).column_attrs if a.key not in skip}


def csv_text(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_delete_hides_filter_shows_restore_brings_back(app, client, staff_user, case):
    record = case.make()
    before = snapshot(record)
    auth = login_as(client, staff_user)
    base = f"/admin/{case.endpoint}"
    marker = f"{base}/details/?id={record.id}"  # each listed row links to its detail page
    term = search_term(case, record)
    listing = client.get(f"{base}/").text
    assert marker in listing and "List (1)" in listing
    assert marker in client.get(f"{base}/?search={term}").text

    response = auth.post(f"{base}/delete/", {"id": str(record.id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(case.model, record.id).deleted_at is not None  # the row is still there

    listing = client.get(f"{base}/").text
    assert marker not in listing
    assert "List (1)" not in listing  # the count leaves it out too
    assert marker not in client.get(f"{base}/?search={term}").text
    export = csv_text(client.get(f"{base}/export/csv/"))
    assert len(list(csv.reader(io.StringIO(export.lstrip("\ufeff"))))) == 1  # header only
    if case.lookup:
        view, field = case.lookup
        found = client.get(f"/admin/{view}/ajax/lookup/?name={field}&query={term[:4]}").get_json()
        assert all(row[0] != record.id for row in found), found
    edit = client.get(f"{base}/edit/?id={record.id}")
    assert edit.status_code == 410 and "is deleted" in edit.text and 'id="restore-button"' in edit.text
    assert client.get(f"{base}/details/?id={record.id}").status_code == 410

    flt = deleted_filter_arg(app, case.endpoint)
    assert marker in client.get(f"{base}/?{flt}=only").text
    assert marker in client.get(f"{base}/?{flt}=all").text

    response = auth.post(f"{base}/action/", {"action": "restore", "rowid": str(record.id)})
    assert response.status_code == 302
    assert snapshot(record) == before
    assert db.session.get(case.model, record.id).deleted_at is None
    assert marker in client.get(f"{base}/").text


def with_trash(model: Any, record_id: int) -> Any:
    """The row, in the trash or not (None once purged)."""
    db.session.expire_all()
    return db.session.scalar(select(model).where(model.id == record_id).execution_options(include_deleted=True))


def purge_confirmation(auth: Any, base: str, *ids: int) -> Any:
    """The Purge action, as a browser runs it: it answers with the confirmation page."""
    response = auth.post(f"{base}/action/", {"action": "purge", "rowid": [str(i) for i in ids]})
    assert response.status_code == 302 and "/purge/?id=" in response.location
    return auth.client.get(response.location)


def confirm_purge(auth: Any, page: Any) -> Any:
    """Submit the confirmation page's form as a browser would."""
    form = read_form(page.text)
    ids = re.findall(r'<input type="hidden" name="id" value="(\d+)">', page.text)
    action = re.search(r'<form method="post" action="([^"]+/purge/)"', page.text).group(1)
    return auth.client.post(action, data={"csrf_token": form["csrf_token"], "id": ids}, follow_redirects=True)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_purge_is_for_admins_only(client, app, staff_user, admin_user, case):
    record = case.make()
    record.soft_delete()
    db.session.commit()
    base = f"/admin/{case.endpoint}"
    staff = login_as(client, staff_user)
    assert staff.post(f"{base}/action/", {"action": "purge", "rowid": str(record.id)}).status_code == 403
    assert client.get(f"{base}/purge/?id={record.id}").status_code == 403
    assert staff.post(f"{base}/purge/", {"id": str(record.id)}).status_code == 403
    assert with_trash(case.model, record.id) is not None
    staff.logout()
    admin = login_as(client, admin_user)
    page = purge_confirmation(admin, base, record.id)
    assert page.status_code == 200 and "will be removed for good" in page.text
    assert with_trash(case.model, record.id) is not None  # the confirmation page removes nothing
    response = confirm_purge(admin, page)
    assert "1 record permanently removed" in response.text
    assert with_trash(case.model, record.id) is None


def test_purge_refuses_a_product_used_by_an_order(client, admin_user):
    product = f.product(name="Bestseller")
    order = f.order(items=[(product, 1, product.price)])
    product.soft_delete()
    db.session.commit()
    auth = login_as(client, admin_user)
    page = purge_confirmation(auth, "/admin/product", product.id)
    assert "cannot be purged" in page.text and 'id="purge-button"' not in page.text
    item = order.items[0]
    assert f'<a href="/admin/orderitem/details/?id={item.id}">{item}</a>' in page.text
    flashed = auth.post("/admin/product/purge/", {"id": str(product.id)}, follow_redirects=True).text
    assert (f"1 record not removed, because other records still refer to it: #{product.id} (Bestseller)."
            in flashed)
    assert with_trash(Product, product.id) is not None
    assert len(db.session.get(Order, order.id).items) == 1


def test_purge_only_touches_deleted_records(client, admin_user):
    live = f.product(name="Still selling")
    auth = login_as(client, admin_user)
    page = purge_confirmation(auth, "/admin/product", live.id)
    assert "Only records in the trash can be purged" in page.text and 'id="purge-button"' not in page.text
    flashed = auth.post("/admin/product/purge/", {"id": str(live.id)}, follow_redirects=True).text
    assert f"Only records in the trash can be purged: #{live.id} (Still selling) is not deleted." in flashed
    assert db.session.get(Product, live.id) is not None


def test_an_order_still_shows_its_deleted_customer_and_product(client, staff_user):
    customer = f.customer(username="gone-customer", first_name="Gone", last_name="Away")
    product = f.product(name="Retired lamp")
    order = f.order(customer, items=[(product, 2, Decimal("3.00"))])
    customer.soft_delete()
    product.soft_delete()
    db.session.commit()
    login_as(client, staff_user)
    details = client.get(f"/admin/order/details/?id={order.id}").text
    assert "Gone Away" in details and "deleted" in details and "Retired lamp" in details
    items = client.get("/admin/orderitem/").text
    assert "Retired lamp" in items and "record-deleted" in items
    rows = list(csv.DictReader(io.StringIO(csv_text(client.get("/admin/orderitem/export/csv/")).lstrip("\ufeff"))))
    assert [(r["Product"], r["Product deleted"]) for r in rows] == [("Retired lamp", "yes")]
    orders = list(csv.DictReader(io.StringIO(csv_text(client.get("/admin/order/export/csv/")).lstrip("\ufeff"))))
    assert [(r["Customer"], r["Customer deleted"]) for r in orders] == [("gone-customer", "yes")]


def test_new_orders_cannot_pick_a_deleted_product(client, staff_user):
    product = f.product(name="Retired lamp")
    order = f.order()
    product.soft_delete()
    db.session.commit()
    auth = login_as(client, staff_user)
    response = auth.post("/admin/orderitem/new/", {"order": str(order.id), "product": str(product.id),
                                                   "quantity": "1", "price": "3.00"})
    assert response.status_code == 200
    assert "Retired lamp is deleted and cannot be chosen" in response.text
    assert db.session.scalars(select(OrderItem)).all() == []


def test_a_deleted_categorys_products_keep_it(client, staff_user):
    category = f.category(name="Old range")
    product = f.product(name="Kept", category=category)
    auth = login_as(client, staff_user)
    auth.post("/admin/category/delete/", {"id": str(category.id)})
    db.session.expire_all()
    assert db.session.get(Product, product.id).category_id == category.id
    assert "Old range" in client.get(f"/admin/product/details/?id={product.id}").text


def test_a_deleted_customers_email_is_not_silently_reused(client, staff_user):
    customer = f.customer(username="olduser", email="taken@example.com")
    customer.soft_delete()
    db.session.commit()
    auth = login_as(client, staff_user)
    response = auth.post("/admin/customer/new/", {"username": "newuser", "email": "TAKEN@example.com"})
    assert response.status_code == 200
    assert "belongs to a deleted customer" in response.text and "restore it" in response.text
    assert db.session.scalars(select(Customer).where(Customer.username == "newuser")).first() is None


def test_rows_in_the_trash_carry_a_deleted_badge_and_only_the_details_button(client, app, staff_user):
    gone_lamp, live_lamp = f.product(name="Gone lamp"), f.product(name="Live lamp")
    gone_lamp.soft_delete()
    gone_lamp.deleted_at = datetime(2026, 11, 25, 14, 53, tzinfo=UTC)
    db.session.commit()
    login_as(client, staff_user)
    page = client.get(f"/admin/product/?{deleted_filter_arg(app, 'product')}=all").text
    rows = {name: row for row in re.findall(r"<tr( class=\"row-deleted\")?>(.*?)</tr>", page, re.S)
            for name in ("Gone lamp", "Live lamp") if name in row[1]}
    deleted_class, gone_row = rows["Gone lamp"]
    assert deleted_class and '<span class="badge badge-warning trash-badge">deleted 11/25/26, 2:53\u202fPM</span>' \
        in gone_row
    assert f"/admin/product/details/?id={gone_lamp.id}" in gone_row
    assert "/admin/product/edit/" not in gone_row and "fa-trash" not in gone_row
    live_class, live_row = rows["Live lamp"]
    assert not live_class and "trash-badge" not in live_row
    assert f"/admin/product/edit/?id={live_lamp.id}" in live_row and "fa-trash" in live_row
