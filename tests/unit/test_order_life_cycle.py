"""The order's life cycle decides what may change, for plain ORM code and the CLI alike
(the admin paths are in tests/integration/test_wholes.py): new orders start pending, the
status moves only along the transitions, each status freezes what it freezes (the items
included), and only pending and cancelled orders may be deleted."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from admin_app.core.models import DataRuleError
from admin_app.extensions import db
from admin_app.sales.models import DELETABLE, EDITABLE, ORDER_STATUSES, TRANSITIONS, Order, OrderItem
from tests import factories as f


def stored(order_id: int) -> Order:
    db.session.expire_all()
    return db.session.get_one(Order, order_id)


def refused(message: str) -> Any:
    return pytest.raises(DataRuleError, match=message)


def commit_or_refuse(allowed: bool, message: str) -> None:
    if allowed:
        db.session.commit()
        return
    with refused(message):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("status", [s for s in ORDER_STATUSES if s != "pending"])
def test_a_new_order_starts_pending(status):
    customer = f.customer()
    db.session.add(Order(user=customer, address=f.address(customer), status=status))
    with refused(f"A new order starts as pending, not {status}."):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalars(select(Order)).all() == []


@pytest.mark.parametrize("current, target", [(c, t) for c in ORDER_STATUSES for t in ORDER_STATUSES if c != t])
def test_the_status_moves_only_along_the_transitions(current, target):
    order = f.order(status=current)
    order.status = target
    commit_or_refuse(target in TRANSITIONS[current], f"a {current} order cannot become {target}")
    assert stored(order.id).status == (target if target in TRANSITIONS[current] else current)


def change(order: Any, what: str, spare: dict[str, Any]) -> None:
    """Make one kind of change to an order, as code may (by relationship or by id)."""
    if what == "user":
        order.user = spare["customer"]
    elif what == "user_id":
        order.user_id = spare["customer"].id
    elif what == "address":
        order.address = spare["address"]
    elif what == "address_id":
        order.address_id = spare["address"].id
    elif what == "shipping_fee":
        order.shipping_fee = Decimal("9.99")
    elif what == "notes":
        order.notes = "Leave at the door"
    elif what == "order_date":
        order.order_date = order.order_date - timedelta(days=1)
    elif what == "items (add)":
        order.items.append(OrderItem(product=spare["product"], quantity=1, price=Decimal("1.00")))
    elif what == "items (change)":
        order.items[0].quantity += 1
    elif what == "items (remove)":
        order.items.remove(order.items[0])
    elif what == "items (delete)":
        db.session.delete(order.items[0])
    elif what == "items (move out)":
        order.items[0].order = spare["pending_order"]
    elif what == "items (move in)":
        spare["pending_order"].items[0].order = order
    else:
        raise AssertionError(what)


CHANGES = {"user": "user", "user_id": "user", "address": "address", "address_id": "address",
           "shipping_fee": "shipping_fee", "notes": "notes", "order_date": "order_date",
           "items (add)": "items", "items (change)": "items", "items (remove)": "items",
           "items (delete)": "items", "items (move out)": "items", "items (move in)": "items"}
LABELS = {"user": "customer", "address": "address", "shipping_fee": "shipping fee", "notes": "notes",
          "order_date": "date", "items": "items"}


@pytest.mark.parametrize("what", CHANGES)
@pytest.mark.parametrize("status", ORDER_STATUSES)
def test_each_status_freezes_what_the_life_cycle_says(status, what):
    lamp = f.product(price=Decimal("10.00"))
    order = f.order(items=[(lamp, 2, Decimal("10.00"))], status=status, shipping_fee=Decimal("4.90"))
    spare = {"customer": f.customer(), "address": f.address(order.user, street="Other St 2"), "product": lamp,
             "pending_order": f.order(items=[(lamp, 5, Decimal("10.00"))])}
    field = CHANGES[what]
    allowed = field in EDITABLE[status]
    order_id, address_id = order.id, order.address_id
    before = [(i.id, i.order_id, i.quantity) for i in db.session.scalars(select(OrderItem).order_by(OrderItem.id))]
    change(order, what, spare)
    commit_or_refuse(allowed, f"Order #{order_id} is {status}: its {LABELS[field]} can no longer change")
    after = [(i.id, i.order_id, i.quantity) for i in db.session.scalars(select(OrderItem).order_by(OrderItem.id))]
    saved = stored(order_id)
    assert saved.status == status
    if not allowed:  # nothing of the refused flush was written
        assert after == before
        assert (saved.shipping_fee, saved.notes, saved.address_id) == (Decimal("4.90"), None, address_id)
    else:
        assert (after != before) == (field == "items")


def test_a_pending_order_may_change_everything_in_the_save_that_pays_it():
    """What may change is judged on the status the order had: paying it and fixing its
    shipping fee in one save is a change to a pending order."""
    order = f.order(shipping_fee=Decimal("4.90"))
    order.status, order.shipping_fee = "paid", Decimal("0.00")
    db.session.commit()
    assert (stored(order.id).status, stored(order.id).shipping_fee) == ("paid", Decimal("0.00"))
    order = stored(order.id)
    order_id = order.id
    order.status, order.shipping_fee = "shipped", Decimal("1.00")
    with refused(f"Order #{order_id} is paid: its shipping fee can no longer change."):
        db.session.commit()
    db.session.rollback()
    assert stored(order_id).status == "paid"


def test_the_rule_reads_the_stored_status_when_the_session_never_loaded_it():
    order = f.order(status="shipped", shipping_fee=Decimal("4.90"))
    order_id = order.id
    db.session.expire(order)
    order.status = "pending"  # set without loading: the old value is read from the row
    with refused("a shipped order cannot become pending"):
        db.session.commit()
    db.session.rollback()
    db.session.expire(order)
    order.shipping_fee = Decimal("0.00")
    with refused("its shipping fee can no longer change"):
        db.session.commit()
    db.session.rollback()
    assert (stored(order_id).status, stored(order_id).shipping_fee) == ("shipped", Decimal("4.90"))


@pytest.mark.parametrize("how", ["soft", "hard"])
@pytest.mark.parametrize("status", ORDER_STATUSES)
def test_only_pending_and_cancelled_orders_may_be_deleted(status, how):
    order = f.order(items=[(f.product(), 1, Decimal("1.00"))], status=status)
    order_id = order.id
    if how == "soft":
        order.soft_delete()
    else:
        db.session.delete(order)
    commit_or_refuse(status in DELETABLE, f"Order #{order_id} is {status}: only pending and cancelled orders "
                                          "can be deleted; cancel it first, or keep it.")
    db.session.expire_all()
    kept = db.session.get(Order, order_id)
    if status not in DELETABLE:
        assert kept is not None and kept.deleted_at is None and len(kept.items) == 1
    elif how == "soft":
        assert kept.deleted_at is not None
        kept.restore()  # and it may come back
        db.session.commit()
        assert stored(order_id).deleted_at is None
    else:
        assert kept is None


def test_the_cli_moves_orders_along_the_life_cycle_and_names_the_others(runner):
    pending, delivered = f.order(), f.order(status="delivered")
    result = runner.invoke(args=["order-status", "paid", str(pending.id), str(delivered.id), "99999"])
    assert result.exit_code == 1
    assert f"1 order(s) marked paid: #{pending.id}" in result.output
    assert f"#{delivered.id} left unchanged: a delivered order cannot become paid" in result.output
    assert "#99999: no such order" in result.output
    assert (stored(pending.id).status, stored(delivered.id).status) == ("paid", "delivered")
    result = runner.invoke(args=["order-status", "shipped", str(pending.id)])
    assert result.exit_code == 0, result.output
    assert stored(pending.id).status == "shipped"
    entry = f.audit_entries(stored(pending.id))[-1]
    assert (entry.actor_label, entry.changes) == ("cli", {"status": ["paid", "shipped"]})
