"""The trash on every path of the back office (issue 16), through the real URLs with CSRF on.

The issue's table, walked again: none of its behaviours is left. Then each path that could
reach a row in the trash (the form, an inline row, the part's own page, each bulk action,
the CLI), the bulk actions as transactions, two sessions racing, purge and erasure.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from flask import request_started
from sqlalchemy import event, select

from admin_app.accounts.models import Address, Customer
from admin_app.audit.models import AuditLog
from admin_app.catalog.models import Category, Product
from admin_app.content.models import Comment, Post
from admin_app.core.models import utcnow
from admin_app.core.soft_delete_view import DeletedFilter
from admin_app.extensions import db
from admin_app.sales.models import Order, OrderItem
from tests import factories as f
from tests.conftest import csrf_token_from, login_as, meanwhile, read_form
from tests.integration.helpers import submit

WITH_TRASH = {"include_deleted": True}


def act(client: Any, endpoint: str, action: str, ids: list[int]) -> str:
    """Tick rows in a list, pick a bulk action; the flashed messages of the page shown afterwards."""
    page = client.get(f"/admin/{endpoint}/")
    response = client.post(f"/admin/{endpoint}/action/", data={
        "csrf_token": csrf_token_from(page.text), "action": action, "rowid": [str(i) for i in ids]})
    assert response.status_code == 302, response.text
    return flashes(client.get(response.headers["Location"]).text)


def flashes(page: str) -> str:
    return " ".join(re.sub(r"\s+", " ", m) for m in re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S))


def stored(model: Any, record_id: int) -> Any:
    """The row as stored, in the trash or not (None if it is gone)."""
    db.session.expire_all()
    return db.session.scalar(select(model).where(model.id == record_id).execution_options(**WITH_TRASH))


def deleted_filter(app: Any, endpoint: str, value: str) -> str:
    view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", None) == endpoint)
    index = next(i for i, flt in enumerate(view._filters) if isinstance(flt, DeletedFilter))
    return f"flt0_{view.get_filter_arg(index, view._filters[index])}={value}"


def csv_rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@contextmanager
def commits() -> Iterator[list[int]]:
    seen: list[int] = []
    listener = lambda connection: seen.append(1)  # noqa: E731
    event.listen(db.engine, "commit", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "commit", listener)


@pytest.fixture
def staff(client, staff_user):
    return login_as(client, staff_user)


@pytest.fixture
def admin(client, admin_user):
    return login_as(client, admin_user)


# --- the table, walked again ---------------------------------------------------------


@pytest.mark.parametrize("action", ["mark_paid", "cancel"])
def test_order_status_actions_refuse_an_order_in_the_trash_and_name_it(client, staff, action):
    live, trashed = f.order(), f.order()
    trashed.soft_delete()
    db.session.commit()
    messages = act(client, "order", action, [live.id, trashed.id])
    assert f"1 record left unchanged, in the trash: #{trashed.id}. Restore it first." in messages
    assert f"1 order marked {'paid' if action == 'mark_paid' else 'cancelled'}: #{live.id}." in messages
    assert stored(Order, trashed.id).status == "pending"


def test_a_deleted_orders_items_leave_every_read_and_come_back_with_it(client, staff, runner):
    lamp = f.product(name="Zanzibar lamp")
    kept = f.order(items=[(lamp, 1, Decimal("4.00"))])
    order = f.order(items=[(lamp, 2, Decimal("5.00")), (lamp, 3, Decimal("5.00"))])
    item_ids, kept_item = [i.id for i in order.items], kept.items[0].id
    staff.post("/admin/order/delete/", {"id": str(order.id)})
    listing = client.get("/admin/orderitem/").text
    assert "List (1)" in listing and all(f"/admin/orderitem/details/?id={i}&" not in listing for i in item_ids)
    assert client.get("/admin/orderitem/?search=Zanzibar").text.count('name="rowid"') == 1
    assert [int(r["ID"]) for r in csv_rows(client.get("/admin/orderitem/export/csv/"))] == [kept_item]
    exported = runner.invoke(args=["export", "orderitem"])
    assert exported.exit_code == 0 and [int(r["ID"]) for r in csv_rows_text(exported.output)] == [kept_item]
    # The part's own pages: not found, as the order's are deleted.
    for page in (f"/admin/orderitem/details/?id={item_ids[0]}", f"/admin/orderitem/edit/?id={item_ids[0]}"):
        response = client.get(page, follow_redirects=True)
        assert "Record does not exist." in response.text and "Zanzibar" not in response.text.split("<table")[0]
    assert client.get(f"/admin/order/details/?id={order.id}").status_code == 410
    assert [row["Name"] for row in csv_rows(client.get("/admin/product/export/csv/"))] == ["Zanzibar lamp"]
    # Restore: the items come back with it.
    staff.post("/admin/order/restore/", {"id": str(order.id)})
    assert client.get("/admin/orderitem/").text.count('name="rowid"') == 3


def csv_rows_text(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_purging_a_post_never_removes_its_live_comment(client, admin):
    post = f.post(title="Zesty news")
    comment = f.comment(post, author_name="Zed", body="Still reading")
    post.soft_delete()
    db.session.commit()
    confirmation = client.get(f"/admin/post/purge/?id={post.id}").text
    assert "cannot be purged" in confirmation and 'id="purge-button"' not in confirmation
    assert f'<a href="/admin/comment/details/?id={comment.id}">Zed: Still reading</a>' in confirmation
    page = admin.post("/admin/post/purge/", {"id": str(post.id)}, follow_redirects=True)
    assert f"not removed, because other records still refer to it: #{post.id} (Zesty news)" in page.text
    assert stored(Comment, comment.id) is not None and stored(Post, post.id) is not None


def test_approve_refuses_a_deleted_comment(client, staff):
    comment = f.comment(body="Spam")
    comment.soft_delete()
    db.session.commit()
    messages = act(client, "comment", "approve", [comment.id])
    assert f"in the trash: #{comment.id} (Guest: Spam)" in messages and "approved" not in messages
    assert stored(Comment, comment.id).is_approved is False


def test_a_categorys_detail_page_leaves_deleted_sub_categories_out(client, staff):
    parent = f.category(name="Lighting")
    f.category(name="Desk lamps", parent=parent)
    f.category(name="Gas lamps", parent=parent).soft_delete()
    db.session.commit()
    page = client.get(f"/admin/category/details/?id={parent.id}").text
    assert "Desk lamps" in page and "Gas lamps" not in page


def test_dashboard_top_products_leave_deleted_products_out(client, staff):
    lamp, retired = f.product(name="Lamp"), f.product(name="Retired chair")
    f.order(items=[(lamp, 1, Decimal("10.00")), (retired, 5, Decimal("90.00"))], order_date=utcnow(), status="paid")
    retired.soft_delete()
    db.session.commit()
    page = client.get("/admin/").text
    assert "Lamp" in page and "Retired chair" not in page


def test_bulk_delete_of_20_rows_commits_once(client, staff):
    products = [f.product(name=f"Bulk {n}") for n in range(20)]
    page = client.get("/admin/product/")
    with commits() as seen:
        response = client.post("/admin/product/action/", data={
            "csrf_token": csrf_token_from(page.text), "action": "delete", "rowid": [str(p.id) for p in products]})
    assert response.status_code == 302 and len(seen) == 1
    assert all(stored(Product, p.id).is_deleted for p in products)


def test_a_database_error_halfway_through_a_bulk_delete_keeps_every_row(client, staff):
    """Two sessions racing: someone saves row 10 of 20 while the delete runs; its version
    check fails, and none of the 20 is deleted."""
    products = [f.product(name=f"Bulk {n}") for n in range(20)]
    tenth = products[9].id

    def edit_tenth(other: Any) -> None:
        other.get(Product, tenth).description = "Changed meanwhile"

    with meanwhile(edit_tenth):
        messages = act(client, "product", "delete", [p.id for p in products])
    assert "Nothing was changed: some of the selected records were changed by someone else" in messages
    assert not any(stored(Product, p.id).is_deleted for p in products)
    assert stored(Product, tenth).description == "Changed meanwhile"


# --- every path ---------------------------------------------------------------------------------


BULK_ACTIONS = [
    ("order", "delete"), ("order", "mark_paid"), ("order", "mark_shipped"), ("order", "mark_delivered"),
    ("order", "cancel"), ("comment", "approve"), ("comment", "delete"), ("product", "delete"),
    ("category", "delete"), ("post", "delete"), ("customer", "delete"), ("customer", "anonymise"),
]
MAKERS = {"order": lambda: f.order(), "comment": lambda: f.comment(), "product": lambda: f.product(),
          "category": lambda: f.category(), "post": lambda: f.post(), "customer": lambda: f.customer()}


@pytest.mark.parametrize(("endpoint", "action"), BULK_ACTIONS, ids=[f"{e}-{a}" for e, a in BULK_ACTIONS])
def test_every_bulk_action_refuses_rows_in_the_trash(client, admin, endpoint, action):
    record = MAKERS[endpoint]()
    record.soft_delete()
    db.session.commit()
    before = stored(type(record), record.id)
    snapshot = {a.key: getattr(before, a.key) for a in type(record).__mapper__.column_attrs}
    messages = act(client, endpoint, action, [record.id])
    assert f"1 record left unchanged, in the trash: #{record.id}" in messages
    after = stored(type(record), record.id)
    assert {a.key: getattr(after, a.key) for a in type(record).__mapper__.column_attrs} == snapshot


def test_deleting_an_item_of_a_deleted_order_is_refused(client, staff):
    order = f.order(items=[(f.product(name="Lamp"), 1, Decimal("1.00"))])
    item_id = order.items[0].id
    order.soft_delete()
    db.session.commit()
    messages = act(client, "orderitem", "delete", [item_id])
    assert f"in the trash: #{item_id} (1 × Lamp) with Order #{order.id}" in messages
    assert stored(OrderItem, item_id) is not None


def test_the_form_of_a_record_in_the_trash_says_so_and_offers_restore(client, staff):
    product = f.product(name="Walnut lamp")
    product.soft_delete()
    db.session.commit()
    for url in (f"/admin/product/edit/?id={product.id}", f"/admin/product/details/?id={product.id}"):
        page = client.get(url)
        assert page.status_code == 410 and "Walnut lamp is deleted" in page.text
        assert 'id="restore-button"' in page.text and 'id="purge-link"' not in page.text  # staff: no purge
    response = client.post(f"/admin/product/edit/?id={product.id}", data={
        "csrf_token": csrf_token_from(client.get("/admin/product/").text), "name": "Renamed", "price": "1.00",
        "stock": "1"})
    assert response.status_code == 410 and stored(Product, product.id).name == "Walnut lamp"


def test_an_inline_row_cannot_newly_pick_a_deleted_product(client, staff):
    lamp, retired = f.product(name="Lamp"), f.product(name="Retired lamp")
    order = f.order(items=[(lamp, 1, Decimal("1.00"))])
    retired.soft_delete()
    db.session.commit()
    form = read_form(client.get(f"/admin/order/edit/?id={order.id}").text)
    form.update({"items-1-product": str(retired.id), "items-1-quantity": "1", "items-1-price": "2.00"})
    response = client.post(f"/admin/order/edit/?id={order.id}", data=form)
    assert response.status_code == 200 and "Retired lamp is deleted and cannot be chosen as product" in response.text
    assert len(stored(Order, order.id).items) == 1


def test_an_order_item_cannot_be_added_to_a_deleted_order(client, staff):
    order = f.order()
    order.soft_delete()
    db.session.commit()
    product = f.product()
    response = submit(client, "/admin/orderitem/new/", {"order": str(order.id), "product": str(product.id),
                                                        "quantity": "1", "price": "1.00"})
    assert response.status_code == 200 and f"Order #{order.id} is deleted and cannot be chosen" in response.text
    assert db.session.scalars(select(OrderItem).execution_options(**WITH_TRASH)).all() == []


def test_lookups_never_offer_the_trash(client, staff):
    f.product(name="Zinc lamp")
    f.product(name="Zinc bowl").soft_delete()
    db.session.commit()
    found = client.get("/admin/orderitem/ajax/lookup/?name=product&query=Zinc").get_json()
    assert [row[1].split(" · ")[0] for row in found] == ["Zinc lamp"]  # name · SKU · price · stock


def test_a_unique_value_stays_taken_in_the_trash_and_the_message_says_whose(client, staff):
    f.product(name="Old lamp", sku="LAMP-1").soft_delete()
    f.category(name="Garden").soft_delete()
    db.session.commit()
    response = submit(client, "/admin/product/new/", {"name": "New lamp", "sku": "LAMP-1", "price": "5.00",
                                                      "stock": "1"})
    assert "This sku belongs to a deleted product (Old lamp): restore it, or ask an admin to purge it." in \
        response.text
    response = submit(client, "/admin/category/new/", {"name": "GARDEN"})
    assert "belongs to a deleted category (Garden)" in response.text
    assert db.session.scalars(select(Product.name).execution_options(**WITH_TRASH)).all() == ["Old lamp"]


def test_restore_and_purge_are_offered_only_where_the_trash_is_shown(app, client, admin):
    f.product()
    restore, purge, delete = ("modelActions.execute('restore')", "modelActions.execute('purge')",
                              "modelActions.execute('delete')")
    plain = client.get("/admin/product/").text
    assert delete in plain and restore not in plain and purge not in plain
    everything = client.get(f"/admin/product/?{deleted_filter(app, 'product', 'all')}").text
    assert delete in everything and restore in everything and purge in everything
    only = client.get(f"/admin/product/?{deleted_filter(app, 'product', 'only')}").text
    assert delete not in only and restore in only and purge in only


def test_a_page_never_shows_what_an_earlier_request_read_from_the_trash(app, client, staff):
    """The identity map is not re-filtered: each request has a session of its own, empty
    when the request starts, so a record read with the opt-out (here by a uniqueness check)
    cannot reach the next page."""
    f.customer(username="ghost", email="ghost@example.com", first_name="Gho", last_name="St").soft_delete()
    db.session.commit()
    at_start: list[int] = []

    def note(sender: Any, **extra: Any) -> None:
        at_start.append(len(db.session.identity_map))

    request_started.connect(note, app)
    try:
        refused = submit(client, "/admin/customer/new/", {"username": "casper", "email": "GHOST@example.com"})
        assert "belongs to a deleted customer (Gho St)" in refused.text
        assert "Gho St" not in client.get("/admin/customer/").text
        assert "Gho St" not in client.get("/admin/order/ajax/lookup/?name=user&query=gho").text
    finally:
        request_started.disconnect(note, app)
    assert at_start and set(at_start) == {0}


# --- bulk actions are transactions ---------------------------------------------------------------


def test_refused_rows_are_named_with_the_reason_and_the_others_commit_together(client, staff):
    customer = f.customer()
    used, spare, other_spare = (f.address(customer, street="Used St 1").id, f.address(customer).id,
                                f.address(customer).id)
    f.order(customer)  # ships to the customer's first address: ``used``
    with commits() as seen:
        messages = act(client, "address", "delete", [used, spare, other_spare])
    assert len(seen) == 1
    assert f"2 records deleted: #{spare} (" in messages
    assert f"1 record left unchanged: #{used} (Used St 1" in messages and "is used by 1 order" in messages
    assert stored(Address, used) is not None
    assert stored(Address, spare) is None and stored(Address, other_spare) is None


def test_a_bulk_status_change_racing_a_delete_changes_nothing(client, staff):
    first, second = f.order(), f.order()
    second_id = second.id

    def delete_second(other: Any) -> None:
        other.get(Order, second_id).soft_delete()

    with meanwhile(delete_second):
        messages = act(client, "order", "mark_paid", [first.id, second.id])
    assert "Nothing was changed" in messages
    assert stored(Order, first.id).status == "pending" and stored(Order, second_id).status == "pending"
    assert stored(Order, second_id).is_deleted


# --- purge ------------------------------------------------------------------------------------------


def test_the_purge_page_lists_everything_removed_nested_and_purges_in_one_transaction(client, admin):
    lamp = f.product(name="Lamp")
    orders = [f.order(items=[(lamp, n + 1, Decimal("2.00"))]) for n in range(2)]
    item_ids = [o.items[0].id for o in orders]
    for order in orders:
        order.soft_delete()
    db.session.commit()
    order_ids = [o.id for o in orders]
    history = db.session.scalars(select(AuditLog.id).where(AuditLog.entity_type == "Order")).all()
    response = client.post("/admin/order/action/", data={
        "csrf_token": csrf_token_from(client.get("/admin/order/").text), "action": "purge",
        "rowid": [str(i) for i in order_ids]})
    page = client.get(response.location).text
    for order_id, item_id in zip(order_ids, item_ids, strict=True):
        nested = re.search(rf"Order #{order_id}: <a [^>]+>Order #{order_id}</a>(?: <span[^>]*>deleted</span>)?"
                           r"\s*<ul>(.*?)</ul>", page, re.S)
        assert nested and f"Order item #{item_id}: " in nested.group(1)
    with commits() as seen:
        done = client.post("/admin/order/purge/", data={"csrf_token": csrf_token_from(page),
                                                        "id": [str(i) for i in order_ids]}, follow_redirects=True)
    assert len(seen) == 1 and "2 records permanently removed" in done.text
    assert all(stored(Order, i) is None for i in order_ids) and all(stored(OrderItem, i) is None for i in item_ids)
    kept = db.session.scalars(select(AuditLog.id).where(AuditLog.id.in_(history))).all()
    assert sorted(kept) == sorted(history)  # the history entries stay
    assert client.get(f"/admin/auditlog/record/Order/{order_ids[0]}/").status_code == 200


def test_a_purge_racing_a_restore_removes_nothing(client, admin):
    product = f.product(name="Back again")
    product.soft_delete()
    db.session.commit()
    product_id = product.id
    page = client.get(f"/admin/product/purge/?id={product_id}").text

    def restore(other: Any) -> None:
        other.get(Product, product_id, execution_options=WITH_TRASH).restore()

    with meanwhile(restore):
        done = client.post("/admin/product/purge/", data={"csrf_token": csrf_token_from(page),
                                                          "id": str(product_id)}, follow_redirects=True)
    assert "Nothing was purged" in done.text
    assert stored(Product, product_id) is not None and not stored(Product, product_id).is_deleted


def test_a_purge_racing_a_new_comment_removes_nothing(client, admin):
    first, second = f.post(title="First"), f.post(title="Second")
    first.soft_delete()
    second.soft_delete()
    db.session.commit()
    first_id, second_id = first.id, second.id
    page = client.get(f"/admin/post/purge/?id={first_id}&id={second_id}").text
    assert "2 records" in page

    def comment(other: Any) -> None:
        other.add(Comment(post_id=second_id, author_name="Late", body="Wait"))

    with meanwhile(comment):
        done = client.post("/admin/post/purge/", data={"csrf_token": csrf_token_from(page),
                                                       "id": [str(first_id), str(second_id)]},
                           follow_redirects=True)
    assert "Nothing was purged" in done.text
    assert stored(Post, first_id) is not None and stored(Post, second_id) is not None


def test_the_deleted_page_offers_purge_to_admins(client, admin):
    category = f.category(name="Old range")
    category.soft_delete()
    db.session.commit()
    page = client.get(f"/admin/category/details/?id={category.id}")
    assert page.status_code == 410 and f'href="/admin/category/purge/?id={category.id}"' in page.text


# --- erasure ------------------------------------------------------------------------------------


def test_anonymise_customer_from_the_list(client, admin, admin_user):
    ada = f.customer(username="ada.l", email="ada@example.com", first_name="Ada", last_name="Lovelace")
    order = f.order(ada, items=[(f.product(), 2, Decimal("9.50"))])
    total = order.total
    messages = act(client, "customer", "anonymise", [ada.id])
    assert f"1 customer anonymised: #{ada.id} (erased-{ada.id})." in messages
    assert "Lovelace" not in messages
    for old in ("ada.l", "Lovelace", "ada@example"):
        assert client.get(f"/admin/customer/?search={old}").text.count('name="rowid"') == 0
        assert client.get(f"/admin/order/?search={old}").text.count('name="rowid"') == 0
        assert client.get(f"/admin/auditlog/?search={old}").text.count('name="rowid"') == 0
    history = client.get(f"/admin/auditlog/record/Customer/{ada.id}/").text
    assert "Lovelace" not in history and "ada@example.com" not in history and "[erased]" in history
    erase = db.session.scalars(select(AuditLog).where(AuditLog.action == "erase")).one()
    assert erase.actor_label == admin_user.username and erase.entity_id == str(ada.id)
    assert stored(Order, order.id).total == total


def test_only_admins_anonymise(client, staff):
    ada = f.customer(username="ada.l")
    page = client.get("/admin/customer/")
    assert "modelActions.execute('anonymise')" not in page.text
    response = client.post("/admin/customer/action/", data={"csrf_token": csrf_token_from(page.text),
                                                            "action": "anonymise", "rowid": str(ada.id)})
    assert response.status_code == 403 and stored(Customer, ada.id).username == "ada.l"


def test_a_category_tree_in_the_trash_is_purged_children_first(client, admin):
    parent = f.category(name="Parent")
    child = f.category(name="Child", parent=parent)
    for record in (child, parent):
        record.soft_delete()
    db.session.commit()
    ids = [parent.id, child.id]
    page = client.get(f"/admin/category/purge/?id={ids[0]}&id={ids[1]}").text
    done = client.post("/admin/category/purge/", data={"csrf_token": csrf_token_from(page),
                                                       "id": [str(i) for i in ids]}, follow_redirects=True)
    assert "2 records permanently removed" in done.text
    assert stored(Category, ids[0]) is None and stored(Category, ids[1]) is None


@pytest.mark.parametrize("endpoint", ["product", "post"], ids=["plain rows", "ORM rows"])
def test_the_deleted_filters_export_is_the_trash(app, client, staff, endpoint):
    """The Deleted filter's export shows what its list shows, on both export paths."""
    live, trashed = MAKERS[endpoint](), MAKERS[endpoint]()
    trashed.soft_delete()
    db.session.commit()
    only = csv_rows(client.get(f"/admin/{endpoint}/export/csv/?{deleted_filter(app, endpoint, 'only')}"))
    assert [int(row["ID"]) for row in only] == [trashed.id]
    everything = csv_rows(client.get(f"/admin/{endpoint}/export/csv/?{deleted_filter(app, endpoint, 'all')}"))
    assert sorted(int(row["ID"]) for row in everything) == sorted([live.id, trashed.id])
    assert [int(row["ID"]) for row in csv_rows(client.get(f"/admin/{endpoint}/export/csv/"))] == [live.id]
