"""Restore, purge and erasure as plain functions (core.trash, accounts.erasure) and
through the CLI: purge removes a record with its parts only, never live data, in one
transaction; erasure keeps orders and leaves the old values nowhere."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, or_, select
from sqlalchemy.exc import IntegrityError

from admin_app.accounts.erasure import anonymise_customer, anonymise_customers
from admin_app.accounts.models import Address, Customer
from admin_app.audit.models import AuditLog
from admin_app.audit.services import audit_actor
from admin_app.catalog.models import Category, Product
from admin_app.content.models import Comment, Post, Tag, post_tags
from admin_app.core.soft_delete import RecordInTrash
from admin_app.core.trash import describe_plan, load_with_trash, purge, purge_plan, restore
from admin_app.extensions import db
from admin_app.sales.models import CartItem, Order, OrderItem
from tests import factories as f
from tests.conftest import meanwhile

WITH_TRASH = {"include_deleted": True}


def trashed(*records: Any) -> list[Any]:
    """Put ``records`` in the trash; return them as the purge gets them (read with the trash)."""
    for record in records:
        record.soft_delete()
    db.session.commit()
    keys = [(type(r), r.id) for r in records]
    db.session.remove()
    return [load_with_trash(model, [record_id])[0] for model, record_id in keys]


def count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where).execution_options(**WITH_TRASH))


def test_an_order_goes_with_its_items_and_its_history_stays():
    order = f.order(items=[(f.product(), 1, Decimal("2.00")), (f.product(), 3, Decimal("1.00"))])
    order_id, item_ids = order.id, [i.id for i in order.items]
    (order,) = trashed(order)
    plan = purge_plan([order])
    assert [type(p.record).__name__ for p in plan.ready[0].parts] == ["OrderItem", "OrderItem"]
    history_before = count(AuditLog, AuditLog.entity_type == "Order", AuditLog.entity_id == str(order_id))
    report = purge([order])
    db.session.commit()
    assert [item.record.id for item in report.purged] == [order_id]
    assert count(Order, Order.id == order_id) == 0 and count(OrderItem, OrderItem.id.in_(item_ids)) == 0
    entries = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "Order",
                                                        AuditLog.entity_id == str(order_id))).all()
    assert len(entries) == history_before + 1 and entries[-1].action == "purge"


def test_a_post_goes_with_its_tag_links_and_the_tags_stay():
    news = f.tag(name="news")
    post = f.post()
    post.tags.append(news)
    db.session.commit()
    news_id = news.id
    (post,) = trashed(post)
    plan = purge_plan([post])
    assert plan.ready[0].links == [("tags", ["news"])]
    purge([post])
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(post_tags)) == 0
    assert db.session.get(Tag, news_id) is not None


@pytest.mark.parametrize("comment_in_trash", [False, True], ids=["live comment", "comment in the trash"])
def test_a_comment_live_or_in_the_trash_blocks_its_posts_purge(comment_in_trash):
    post = f.post(title="Zesty news")
    comment = f.comment(post, body="Still here")
    if comment_in_trash:
        comment.soft_delete()
    comment_id = comment.id
    (post,) = trashed(post)
    plan = purge_plan([post])
    assert plan.ready == [] and [r.via for r in plan.blocked[0].referrers] == ["comments.post_id"]
    assert plan.blocked[0].referrers[0].shown[0].id == comment_id
    report = purge([post])
    db.session.commit()
    assert report.purged == []
    assert count(Post, Post.id == post.id) == 1 and count(Comment, Comment.id == comment_id) == 1


def test_a_customer_goes_with_addresses_and_cart_lines_unless_an_order_or_comment_refers_to_it():
    alone = f.customer(username="alone")
    f.address(alone)
    f.cart_item(alone)
    ordered = f.customer(username="ordered")
    f.order(ordered)
    commented = f.customer(username="commented")
    f.comment(user_id=commented.id)
    alone, ordered, commented = trashed(alone, ordered, commented)
    plan = purge_plan([alone, ordered, commented])
    assert [item.record.username for item in plan.ready] == ["alone"]
    assert sorted(type(p.record).__name__ for p in plan.ready[0].parts) == ["Address", "CartItem"]
    blocked = {item.record.username: [r.via for r in item.all_referrers()] for item in plan.blocked}
    # An order refers to the customer, and to its address (a part).
    assert blocked == {"ordered": ["orders.user_id", "orders.address_id"], "commented": ["comments.user_id"]}
    purge([alone, ordered, commented])
    db.session.commit()
    assert count(Customer, Customer.username == "alone") == 0
    assert count(Address, Address.user_id == alone.id) == 0 and count(CartItem, CartItem.user_id == alone.id) == 0
    assert count(Customer, Customer.username.in_(["ordered", "commented"])) == 2


def test_a_product_goes_with_its_cart_lines_but_not_while_an_order_item_names_it():
    in_carts, sold = f.product(name="In carts"), f.product(name="Sold")
    f.cart_item(product_=in_carts)
    f.order(items=[(sold, 1, Decimal("1.00"))])
    in_carts, sold = trashed(in_carts, sold)
    report = purge([in_carts, sold])
    db.session.commit()
    assert [i.record.name for i in report.purged] == ["In carts"]
    assert [i.record.name for i in report.blocked] == ["Sold"]
    assert count(CartItem) == 0 and count(Product, Product.name == "Sold") == 1


def test_a_category_with_a_sub_category_is_blocked_unless_both_go():
    parent = f.category(name="Parent")
    child = f.category(name="Child", parent=parent)
    parent, child = trashed(parent, child)
    assert [i.record.name for i in purge_plan([parent]).blocked] == ["Parent"]
    report = purge([parent, child])  # the child first: the foreign key holds at every step
    db.session.commit()
    assert sorted(i.record.name for i in report.purged) == ["Child", "Parent"]
    assert count(Category) == 0


def test_live_records_are_never_purged():
    live = f.product(name="Still selling")
    report = purge([live])
    db.session.commit()
    assert report.not_in_trash == [live] and db.session.get(Product, live.id) is not None
    assert describe_plan(purge_plan([live])) == [f"Not in the trash (never purged): Product #{live.id} Still selling"]


def test_purging_several_records_is_one_transaction():
    """A record that gains a referrer between the plan and the delete (another session)
    makes the database refuse; the rollback keeps every record of the purge."""
    first, second = f.post(title="First"), f.post(title="Second")
    first, second = trashed(first, second)
    assert len(purge_plan([first, second]).ready) == 2
    late = Comment(post_id=second.id, author_name="Late", body="Wait")
    # Someone comments on the second post after the plan, before the first delete.
    with meanwhile(lambda other: other.add(late)), pytest.raises(IntegrityError):
        purge([first, second])
        db.session.commit()
    db.session.rollback()
    assert count(Post) == 2 and count(Comment) == 1


def test_restore_brings_an_order_back_with_its_items():
    order = f.order(items=[(f.product(), 2, Decimal("3.00"))])
    item_id = order.items[0].id
    (order,) = trashed(order)
    assert db.session.get(OrderItem, item_id) is None
    assert restore([order, f.product()]) == [order]
    db.session.commit()
    db.session.remove()
    assert db.session.get(OrderItem, item_id).quantity == 2


def test_describe_plan_nests_parts_under_their_record():
    order = f.order(items=[(f.product(name="Lamp"), 1, Decimal("2.00"))])
    (order,) = trashed(order)
    lines = describe_plan(purge_plan([order]))
    assert lines[0] == f"- Order #{order.id}: Order #{order.id}"
    assert lines[1].startswith("  - OrderItem #") and lines[1].endswith("1 × Lamp")


# --- erasure -----------------------------------------------------------------------------------


@pytest.fixture
def ada() -> Customer:
    """A customer with history: created, edited, two addresses, an order, a comment."""
    with audit_actor("cli"):
        ada = f.customer(username="ada.l", email="ada@example.com", first_name="Ada", last_name="Lovelace")
        home = f.address(ada, street="12 Analytical Row", city="London", zip_code="N1 1AA")
        f.address(ada, street="1 Engine Lane", city="Oxford", zip_code="OX1")
        ada.first_name = "Augusta Ada"
        db.session.commit()
        f.order(ada, items=[(f.product(), 2, Decimal("9.50"))], shipping_fee=Decimal("4.00"))
        f.comment(author_name="Ada L.", body="Lovely lamp", user_id=ada.id)
    assert home.id
    return ada


OLD_VALUES = ("ada.l", "ada@example.com", "Lovelace", "Augusta", "Analytical Row", "London", "Engine Lane", "Ada L.")


def test_anonymise_keeps_orders_and_leaves_the_old_values_nowhere(ada):
    order = ada.orders[0]
    total_before, version_before, ada_id, order_id = order.total, ada.version_id, ada.id, order.id
    with audit_actor("cli"):
        entry = anonymise_customer(ada)
        db.session.commit()
    entry_id = entry.id
    db.session.remove()
    erased = db.session.get(Customer, ada_id)
    assert (erased.username, erased.email) == (f"erased-{ada_id}", f"erased-{ada_id}@erased.example")
    assert erased.first_name is None and erased.last_name is None and erased.password_hash is None
    assert erased.version_id == version_before + 1
    assert {a.street for a in erased.addresses} == {"(erased)"}
    assert db.session.get(Order, order_id).total == total_before  # orders and their amounts stay
    # Not found by any old value: the record, its addresses, its comments, the history.
    for old in OLD_VALUES:
        like = f"%{old}%"
        assert count(Customer, or_(Customer.username.ilike(like), Customer.email.ilike(like),
                                   Customer.first_name.ilike(like), Customer.last_name.ilike(like))) == 0
        assert count(Address, or_(Address.street.ilike(like), Address.city.ilike(like))) == 0
        assert count(Comment, Comment.author_name.ilike(like)) == 0
        history = db.session.scalars(select(AuditLog)).all()
        leaks = [e.id for e in history if old.lower() in (json.dumps(e.changes) + (e.entity_label or "")).lower()]
        assert leaks == [], (old, leaks)
    erase = db.session.scalars(select(AuditLog).where(AuditLog.action == "erase")).all()
    assert [(e.id, e.entity_id, e.actor_label) for e in erase] == [(entry_id, str(ada_id), "cli")]


def test_a_customer_in_the_trash_is_restored_before_erasure(ada):
    ada.soft_delete()
    db.session.commit()
    with pytest.raises(RecordInTrash):
        anonymise_customer(ada)
    db.session.rollback()
    erased, refused = anonymise_customers([ada.id, ada.id + 1000])
    assert erased == [] and [i for i, _why in refused] == [ada.id, ada.id + 1000]


def test_anonymising_twice_is_refused(ada):
    anonymise_customers([ada.id])
    db.session.commit()
    erased, refused = anonymise_customers([ada.id])
    assert erased == [] and refused == [(ada.id, "already anonymised")]


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_purge_prints_the_plan_and_purges_in_one_go(runner):
    order = f.order(items=[(f.product(name="Lamp"), 1, Decimal("2.00"))])
    post = f.post(title="Kept by a comment")
    f.comment(post)
    order_id, post_id = order.id, post.id
    trashed(order, post)
    result = runner.invoke(args=["purge", "order", str(order_id), "--yes"])
    assert result.exit_code == 0, result.output
    assert f"- Order #{order_id}" in result.output and "1 × Lamp" in result.output
    assert f"Purged 1 order record(s): #{order_id}." in result.output
    assert count(Order, Order.id == order_id) == 0
    blocked = runner.invoke(args=["purge", "post", str(post_id), "--yes"])
    assert blocked.exit_code == 1 and "comments.post_id" in blocked.output and "nothing to purge" in blocked.output
    assert count(Post, Post.id == post_id) == 1
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "purge")).one()
    assert entry.actor_label == "cli"


def test_cli_purge_asks_first(runner):
    (order,) = trashed(f.order())
    result = runner.invoke(args=["purge", "order", str(order.id)], input="n\n")
    assert result.exit_code == 1 and count(Order, Order.id == order.id) == 1


def test_cli_anonymise_customer(runner, ada):
    result = runner.invoke(args=["anonymise-customer", str(ada.id), "--yes"])
    assert result.exit_code == 0, result.output
    assert f"Anonymised 1 customer(s): #{ada.id}." in result.output
    db.session.remove()
    assert db.session.get(Customer, ada.id).username == f"erased-{ada.id}"
    again = runner.invoke(args=["anonymise-customer", str(ada.id), "--yes"])
    assert again.exit_code == 1 and "already anonymised" in again.output


def test_purging_an_order_of_30_items_reads_their_products_in_one_statement():
    """The history names each purged item by its product (``2 × Lamp``): one SELECT of
    products for the order's 30 items, not one per item."""
    products = [f.product(name=f"Lamp {n}") for n in range(30)]
    order = f.order(items=[(product, 2, Decimal("10.00")) for product in products])
    (order,) = trashed(order)
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        purge([order])
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    product_reads = [s for s in statements if s.startswith("SELECT") and "FROM products" in s]
    assert len(product_reads) == 1, product_reads
    labels = set(db.session.scalars(select(AuditLog.entity_label).where(AuditLog.entity_type == "OrderItem",
                                                                          AuditLog.action == "delete")))
    assert labels == {f"2 × Lamp {n}" for n in range(30)}
