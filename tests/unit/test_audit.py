"""Change history (admin_app.audit.services) and optimistic locking (VersionedMixin)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from flask import Flask
from flask_login import login_user
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from admin_app.accounts.models import Customer, Employee
from admin_app.accounts.services import create_employee
from admin_app.audit.models import AuditLog
from admin_app.audit.services import (
    audit_action,
    audit_actor,
    current_actor,
    register_audit_listeners,
    reset_actor,
    set_actor,
    unregister_audit_listeners,
)
from admin_app.catalog.models import Product
from admin_app.content.models import Post, Tag
from admin_app.demo import DemoSizes, seed_demo
from admin_app.extensions import db
from admin_app.sales.models import Order, OrderItem
from tests import factories as f

PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def audited() -> Iterator[None]:
    """The listeners on, as the app factory will register them (idempotent)."""
    register_audit_listeners()
    yield


def clear_log() -> None:
    """Forget the entries the factories wrote (Core, so the clean-up is not audited)."""
    db.session.execute(delete(AuditLog))
    db.session.commit()


def entries() -> list[AuditLog]:
    return f.audit_entries()


def only_entry() -> AuditLog:
    found = entries()
    assert len(found) == 1, [(e.action, e.entity_type, e.changes) for e in found]
    return found[0]


# --- one entry per action ----------------------------------------------------------------


def test_create_records_the_new_values():
    product = Product(name="Desk lamp", sku="LAMP-1", price=Decimal("12.5"), stock=3)
    db.session.add(product)
    db.session.commit()
    entry = only_entry()
    assert (entry.action, entry.entity_type, entry.entity_id, entry.entity_label) == (
        "create", "Product", str(product.id), "Desk lamp")
    # Decimal as text with the column's scale; None, the key and bookkeeping are left out.
    assert entry.changes == {"name": [None, "Desk lamp"], "sku": [None, "LAMP-1"],
                             "price": [None, "12.50"], "stock": [None, 3]}
    assert (entry.actor_id, entry.actor_label) == (None, "system")
    assert entry.created_at.tzinfo is not None


@pytest.mark.parametrize("loaded", [True, False], ids=["loaded", "expired"])
def test_update_records_old_and_new_values_of_changed_fields_only(loaded):
    product = f.product(name="Lamp", price=Decimal("10.00"))
    clear_log()
    if loaded:
        db.session.refresh(product)
    # When expired (as after every commit) the session never saw the old values: the
    # listener reads them before the UPDATE.
    product.price = Decimal("12.50")
    product.name = "Big lamp"
    db.session.commit()
    entry = only_entry()
    assert (entry.action, entry.entity_id) == ("update", str(product.id))
    assert entry.changes == {"price": ["10.00", "12.50"], "name": ["Lamp", "Big lamp"]}
    assert f.audit_entries(product, "update") == [entry] and f.audit_entries(f.product()) != [entry]


@pytest.mark.parametrize("loaded", [True, False], ids=["loaded", "expired"])
def test_changing_a_relationship_records_the_foreign_key(loaded):
    lamps, kettles = f.category(), f.category()
    product = f.product(category=lamps)
    clear_log()
    if loaded:
        db.session.refresh(product)
    product.category = kettles  # category_id itself only changes during the flush
    db.session.commit()
    assert only_entry().changes == {"category_id": [lamps.id, kettles.id]}


def test_update_of_a_json_field_changed_in_place():
    customer = f.customer()
    clear_log()
    customer.preferences["theme"] = "dark"
    db.session.commit()
    entry = only_entry()
    assert (entry.action, entry.entity_type) == ("update", "Customer")
    assert entry.changes == {"preferences": [{}, {"theme": "dark"}]}


def test_soft_delete_and_restore():
    product = f.product()
    clear_log()
    product.soft_delete()
    db.session.commit()
    entry = only_entry()
    assert entry.action == "soft_delete"
    old, new = entry.changes["deleted_at"]
    assert old is None and new == product.deleted_at.isoformat()
    clear_log()
    product.restore()
    db.session.commit()
    entry = only_entry()
    assert entry.action == "restore"
    assert entry.changes == {"deleted_at": [new, None]}


def test_delete_records_the_last_values():
    product = f.product(name="Old kettle", stock=2)
    product_id = product.id
    clear_log()
    db.session.delete(product)
    db.session.commit()
    entry = only_entry()
    assert (entry.action, entry.entity_id, entry.entity_label) == ("delete", str(product_id), "Old kettle")
    assert entry.changes["name"] == ["Old kettle", None] and entry.changes["stock"] == [2, None]


def test_deleting_a_soft_deleted_record_is_a_purge():
    product = f.product()
    product.soft_delete()
    db.session.commit()
    clear_log()
    db.session.delete(product)
    db.session.commit()
    assert only_entry().action == "purge"


def test_delete_orphan_cascade_is_recorded():
    first, second = f.product(), f.product()
    order = f.order(items=[(first, 1, Decimal("1.00")), (second, 2, Decimal("2.00"))])
    clear_log()
    removed = order.items.pop()
    db.session.commit()
    # The item's entry, and the product's: its 2 units went back to stock (the stock ledger).
    returned, entry = entries()
    assert (returned.action, returned.entity_id, returned.changes["stock"]) == (
        "stock", str(second.id), [999_998, 1_000_000])
    assert (entry.action, entry.entity_type, entry.entity_id) == ("delete", "OrderItem", str(removed.id))
    assert db.session.scalar(select(func.count()).select_from(OrderItem)) == 1


def test_many_to_many_change_is_a_change_of_the_posts_tags():
    news, sale, howto = f.tag(name="news"), f.tag(name="sale"), f.tag(name="howto")
    post = f.post(tags=[news, sale])
    clear_log()
    post.tags.append(howto)
    post.tags.remove(news)
    db.session.commit()
    entry = only_entry()  # nothing for the tags themselves, nothing for post_tags
    assert (entry.action, entry.entity_type, entry.entity_id) == ("update", "Post", str(post.id))
    assert entry.changes == {"tags": [["news", "sale"], ["howto", "sale"]]}


def test_new_post_lists_its_tags():
    tag = f.tag(name="gift")
    author = f.employee()
    clear_log()
    db.session.add(Post(title="Hello", content="World", author=author, tags=[tag]))
    db.session.commit()
    post_entry = only_entry()
    assert post_entry.changes["tags"] == [[], ["gift"]]
    assert post_entry.changes["title"] == [None, "Hello"]


# --- transactions ------------------------------------------------------------------------


def test_failed_commit_leaves_no_entry():
    db.session.add(Product(name="Fine", price=Decimal("1.00"), stock=1))
    db.session.add(Product(name="Negative", price=Decimal("-1.00"), stock=1))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert entries() == []
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_rollback_leaves_no_entry():
    product = f.product(name="Lamp")
    clear_log()
    product.name = "Changed"
    db.session.flush()  # the entry is written here, inside the transaction...
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == 1
    db.session.rollback()  # ...and goes with it
    assert entries() == []
    assert product.name == "Lamp"


def test_no_entry_for_a_commit_without_real_changes():
    product = f.product()
    clear_log()
    db.session.commit()  # nothing pending
    product.name = product.name  # loaded, same value
    db.session.commit()
    product.price = Decimal("10.00")  # expired, same value as stored
    db.session.commit()
    assert entries() == []


# --- who and why -------------------------------------------------------------------------


def test_cli_actor_via_the_context_manager():
    with audit_actor("cli"):
        assert current_actor().label == "cli"
        f.product()
    assert current_actor().label == "system"
    entry = only_entry()
    assert (entry.actor_id, entry.actor_label) == (None, "cli")


def test_audit_actor_as_a_decorator():
    @audit_actor("cli")
    def command() -> None:
        f.tag()

    command()
    f.tag()
    assert [e.actor_label for e in entries()] == ["cli", "system"]


def test_an_employee_deleting_their_own_account():
    employee = f.employee(username="leaver")
    clear_log()
    with audit_actor(employee):
        db.session.delete(employee)
        db.session.commit()  # no foreign key to the row this flush removed
    entry = only_entry()
    assert (entry.action, entry.actor_id, entry.actor_label) == ("delete", None, "leaver")


def test_employee_actor_explicit_and_from_the_request(app: Flask):
    editor = f.employee(username="editor")
    clear_log()
    token = set_actor(editor)
    try:
        f.tag()
    finally:
        reset_actor(token)
    with app.test_request_context("/admin/"):
        login_user(editor)
        f.tag()
        with audit_actor("system"):  # an explicit actor wins over the signed-in one
            f.tag()
    assert [(e.actor_id, e.actor_label) for e in entries()] == [
        (editor.id, "editor"), (editor.id, "editor"), (None, "system")]


def test_action_label_for_bulk_actions():
    orders = [f.order(), f.order()]
    clear_log()
    with audit_action("status:paid"):
        for order in orders:
            order.status = "paid"
        db.session.commit()
    found = entries()
    assert [(e.action, e.entity_type, e.changes) for e in found] == [
        ("status:paid", "Order", {"status": ["pending", "paid"]})] * 2


def test_secrets_never_reach_the_log():
    employee = create_employee("sam", "sam@shop.example", PASSWORD, "staff")
    first_hash = employee.password_hash
    employee.set_password("another long password")
    db.session.commit()
    second_hash = employee.password_hash
    created, updated = entries()
    assert created.action == "create" and created.changes["password_hash"] == "set"
    assert updated.changes == {"password_hash": "changed"}
    db.session.delete(employee)
    db.session.commit()
    dumped = json.dumps([e.changes for e in entries()])
    assert first_hash not in dumped and second_hash not in dumped
    assert "scrypt" not in dumped and PASSWORD not in dumped


def test_registering_twice_still_writes_one_entry_and_unregistering_stops_it():
    register_audit_listeners()
    register_audit_listeners()
    f.tag()
    assert len(entries()) == 1
    unregister_audit_listeners()
    try:
        f.tag()
        assert len(entries()) == 1
    finally:
        register_audit_listeners()
    f.tag()
    assert len(entries()) == 2


# --- optimistic locking ------------------------------------------------------------------


def test_updates_bump_the_version():
    product = f.product()
    customer = f.customer()
    assert (product.version_id, customer.version_id) == (1, 1)
    product.price = Decimal("11.00")
    customer.first_name = "Changed"
    db.session.commit()
    assert (product.version_id, customer.version_id) == (2, 2)
    changes = entries()[-1].changes
    assert "version_id" not in changes and "updated_at" not in changes


def test_stale_update_raises_and_keeps_the_first_change():
    product = f.product(name="Original")
    clear_log()
    assert product.name == "Original"  # loaded in this session at version 1
    with Session(db.engine) as other:
        mine = other.get_one(Product, product.id)
        mine.name = "Changed elsewhere"
        other.commit()
    product.name = "Changed here"
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get_one(Product, product.id).name == "Changed elsewhere"
    entry = only_entry()
    assert (entry.action, entry.changes) == ("update", {"name": ["Original", "Changed elsewhere"]})


def test_versioned_across_single_table_inheritance():
    customer = f.customer()
    with Session(db.engine) as other:
        other.get_one(Customer, customer.id).last_name = "Elsewhere"
        other.commit()
    customer.last_name = "Here"
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()


# --- bulk seeding ------------------------------------------------------------------------


def test_demo_seeding_sets_versions_and_bypasses_the_log():
    seed_demo(DemoSizes(customers=5, products=4, orders=3, items_per_order=1, posts=2))
    assert entries() == []  # Core executemany: no ORM events, by design
    for model in (Customer, Employee, Product, Order, OrderItem, Post, Tag):
        versions = set(db.session.scalars(select(model.version_id)))
        assert versions == {1}, model
    product = db.session.scalars(select(Product).order_by(Product.id)).first()
    product.price += 1
    db.session.commit()
    assert product.version_id == 2
    assert only_entry().entity_id == str(product.id)
