"""A customer with its addresses, and an order with its items, are each one whole: a part's
change moves the whole's version (so a stale whole is refused, and two sessions racing are
caught), a customer has one default address, and a whole's history holds its parts'."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from admin_app.accounts.models import Address, Customer
from admin_app.audit.models import AuditLog
from admin_app.audit.services import history_of
from admin_app.core.models import DataRuleError, utcnow
from admin_app.extensions import db
from admin_app.sales.models import Order, OrderItem
from tests import factories as f


def version(model: type, record_id: int) -> int:
    return db.session.scalar(select(model.version_id).where(model.id == record_id))


# --- one version per whole ----------------------------------------------------------------


def test_every_change_to_an_address_moves_its_customers_version():
    ada = f.customer()
    start = version(Customer, ada.id)
    home = f.address(ada, street="Home St 1")                              # add
    assert version(Customer, ada.id) == start + 1
    home.street = "Home St 2"                                              # change
    db.session.commit()
    assert version(Customer, ada.id) == start + 2
    assert home.street == "Home St 2"
    home.street = "Home St 2"                                              # the same value: no change
    db.session.commit()
    assert version(Customer, ada.id) == start + 2
    bob = f.customer()
    bob_start = version(Customer, bob.id)
    home.user = bob                                                        # move: both wholes change
    db.session.commit()
    assert (version(Customer, ada.id), version(Customer, bob.id)) == (start + 3, bob_start + 1)
    db.session.delete(home)                                                # delete
    db.session.commit()
    assert version(Customer, bob.id) == bob_start + 2
    # The customer's own history holds no entry for the bookkeeping.
    assert [e.action for e in f.audit_entries(ada)] == ["create"]


def test_an_order_shipped_to_an_address_is_no_change_of_the_customer():
    ada = f.customer()
    home = f.address(ada)
    assert home.orders == []  # loaded: the new order is appended to it
    before = version(Customer, ada.id)
    f.order(ada)
    assert version(Customer, ada.id) == before


def test_every_change_to_an_item_moves_its_orders_version():
    lamp = f.product(price=Decimal("10.00"))
    order = f.order(items=[(lamp, 1, Decimal("10.00"))])
    other = f.order()
    start, other_start = version(Order, order.id), version(Order, other.id)
    order.items.append(OrderItem(product=lamp, quantity=2, price=Decimal("10.00")))   # add
    db.session.commit()
    order.items[0].quantity = 3                                                        # change
    db.session.commit()
    order.items.remove(order.items[1])                                                 # remove (orphan)
    db.session.commit()
    assert version(Order, order.id) == start + 3
    item = order.items[0]
    item.order_id = other.id                                                           # move, by id
    db.session.commit()
    assert (version(Order, order.id), version(Order, other.id)) == (start + 4, other_start + 1)
    db.session.delete(db.session.get(OrderItem, item.id))                              # delete
    db.session.commit()
    assert version(Order, other.id) == other_start + 2


def test_a_part_changed_by_code_that_never_loaded_its_whole_moves_it():
    order = f.order(items=[(f.product(), 1, Decimal("1.00"))])
    item_id, order_id, before = order.items[0].id, order.id, order.version_id
    db.session.expunge_all()
    db.session.get_one(OrderItem, item_id).quantity = 4
    db.session.commit()
    assert version(Order, order_id) == before + 1


# --- two sessions racing ------------------------------------------------------------------


def test_a_stale_customer_cannot_undo_an_address_fixed_meanwhile():
    ada = f.customer(first_name="Ada")
    home = f.address(ada, street="Hmoe St 1")
    assert ada.first_name == "Ada"  # loaded here, at its current version
    with Session(db.engine) as other:
        other.get_one(Address, home.id).street = "Home St 1"
        other.commit()
    ada.first_name = "Adele"
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    assert (db.session.get_one(Customer, ada.id).first_name, db.session.get_one(Address, home.id).street) == (
        "Ada", "Home St 1")


def test_a_stale_order_cannot_undo_an_item_changed_meanwhile():
    order = f.order(items=[(f.product(), 1, Decimal("1.00"))], notes="old")
    assert order.notes == "old"
    with Session(db.engine) as other:
        other.get_one(OrderItem, order.items[0].id).quantity = 3
        other.commit()
    order.notes = "new"
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    saved = db.session.get_one(Order, order.id)
    assert (saved.notes, saved.items[0].quantity, saved.items_subtotal) == ("old", 3, Decimal("3.00"))


def test_an_item_edit_racing_a_status_change_loses():
    """Loaded while pending; paid meanwhile: the item edit is refused (the version moved)."""
    order = f.order(items=[(f.product(), 1, Decimal("1.00"))])
    item = order.items[0]
    assert (order.status, item.quantity) == ("pending", 1)
    with Session(db.engine) as other:
        other.get_one(Order, order.id).status = "paid"
        other.commit()
    item.quantity = 5
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    assert (order.status, item.quantity) == ("paid", 1)
    # Tried again on the fresh order, the life cycle refuses it: a paid order's items are fixed.
    item.quantity = 5
    with pytest.raises(DataRuleError, match="is paid: its items can no longer change"):
        db.session.commit()
    db.session.rollback()


def test_a_status_change_racing_an_item_edit_loses():
    order = f.order(items=[(f.product(), 1, Decimal("1.00"))])
    assert order.status == "pending"
    with Session(db.engine) as other:
        other.get_one(OrderItem, order.items[0].id).quantity = 2
        other.commit()
    order.status = "paid"
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    assert (order.status, order.items[0].quantity) == ("pending", 2)


def test_two_sessions_choosing_a_default_address_at_once():
    ada = f.customer()
    home, work = f.address(ada, street="Home St 1"), f.address(ada, street="Work St 2")
    assert (home.is_default, work.is_default, ada.first_name) == (False, False, "Cara")  # all loaded here
    with Session(db.engine) as other:
        other.get_one(Address, work.id).is_default = True
        other.commit()
    home.is_default = True
    with pytest.raises(StaleDataError):  # the customer's version moved with the other default
        db.session.commit()
    db.session.rollback()
    assert [(a.street, a.is_default) for a in db.session.get_one(Customer, ada.id).addresses] == [
        ("Home St 1", False), ("Work St 2", True)]


# --- one default address per customer ------------------------------------------------------


@pytest.mark.parametrize("old_first", [True, False], ids=["old-default-has-the-lower-id", "new-default-has"])
def test_choosing_a_new_default_unsets_the_old_one_in_the_same_save(old_first):
    ada = f.customer()
    first, second = f.address(ada, street="First St 1"), f.address(ada, street="Second St 2")
    old, new = (first, second) if old_first else (second, first)
    old.is_default = True
    db.session.commit()
    new.is_default = True  # the flush writes addresses in id order: the old default may come after
    db.session.commit()
    db.session.expire_all()
    assert {a.street: a.is_default for a in db.session.get_one(Customer, ada.id).addresses} == {
        new.street: True, old.street: False}
    unset = f.audit_entries(old)[-1]
    assert (unset.action, unset.changes) == ("update", {"is_default": [True, False]})


def test_a_new_default_address_and_a_default_moved_in_unset_the_old_one():
    ada, bob = f.customer(), f.customer()
    home = f.address(ada, street="Home St 1", is_default=True)
    db.session.add(Address(user=ada, street="New St 3", city="Berlin", zip_code="10115", country="Germany",
                           is_default=True))
    db.session.commit()
    assert [(a.street, a.is_default) for a in ada.addresses] == [("Home St 1", False), ("New St 3", True)]
    bobs = f.address(bob, street="Bob St 9", is_default=True)
    bobs.user = ada
    db.session.commit()
    db.session.expire_all()
    assert [a.street for a in db.session.get_one(Customer, ada.id).addresses if a.is_default] == ["Bob St 9"]
    assert db.session.get_one(Address, home.id).is_default is False


def test_two_new_defaults_for_one_customer_at_once_are_refused():
    ada = f.customer()
    for street in ("One St 1", "Two St 2"):
        ada.addresses.append(Address(street=street, city="Berlin", zip_code="10115", country="Germany",
                                     is_default=True))
    with pytest.raises(DataRuleError, match="can have only one default address"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalars(select(Address)).all() == []


def test_the_database_keeps_one_default_per_customer_on_any_path():
    ada, bob = f.customer(), f.customer()
    f.address(ada, is_default=True)
    db.session.commit()  # nothing of this session's open while the statements below write
    row = {"user_id": ada.id, "street": "Core St 1", "city": "Berlin", "state": "", "zip_code": "10115",
           "country": "Germany", "created_at": utcnow(), "updated_at": utcnow()}
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.execute(insert(Address.__table__).values(**row, is_default=True))
    with db.engine.begin() as connection:  # another customer's default, or a second address, are fine
        connection.execute(insert(Address.__table__).values(**row, is_default=False))
        connection.execute(insert(Address.__table__).values(**{**row, "user_id": bob.id}, is_default=True))


# --- the history of a whole ----------------------------------------------------------------


def test_a_wholes_history_holds_its_parts_entries_interleaved():
    lamp = f.product(price=Decimal("10.00"))
    order = f.order(items=[(lamp, 1, Decimal("10.00"))])
    item = order.items[0]
    order.notes = "Ring twice"
    db.session.commit()
    item.quantity = 2
    db.session.commit()
    order.items.remove(item)
    db.session.commit()
    other = f.order(items=[(lamp, 7, Decimal("10.00"))])
    entries = db.session.scalars(history_of("Order", str(order.id))).all()
    assert [(e.entity_type, e.action) for e in entries] == [
        ("OrderItem", "delete"), ("OrderItem", "update"), ("Order", "update"), ("OrderItem", "create"),
        ("Order", "create")]
    assert {(e.part_of_type, e.part_of_id) for e in entries if e.entity_type == "OrderItem"} == {
        ("Order", str(order.id))}
    assert other.items[0].order_id != order.id
    ada = f.customer()
    home = f.address(ada)
    home.city = "Potsdam"
    db.session.commit()
    assert [(e.entity_type, e.action) for e in db.session.scalars(history_of("Customer", str(ada.id)))] == [
        ("Address", "update"), ("Address", "create"), ("Customer", "create")]
    assert db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "Product")).first().part_of_id is None
