"""Orders take and return stock, in the flush that changes them, whatever path changed them.

An order *holds* the units of its items while it is neither cancelled nor in the trash.
Every flush that touches an order or an order item (the order form and its inline items,
the Order items page, a bulk workflow action, restore and purge, the CLI, plain ORM code)
compares what the orders it touches held before the flush with what they hold after it, per
product, and moves the difference through the stock ledger (:func:`admin_app.catalog.stock.
apply_movements`): units held now and not before are taken (a conditional update that fails
when too few are left: the flush fails, nothing of it is saved), units no longer held go back.

Both sides are read from the database (before the flush writes, and after), so what counts is
what the rows say, not how a path set them: ``item.order_id = 7``, a moved item, a purged
order with its items, a status changed in a bulk action.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from admin_app.catalog.stock import Movement, apply_movements
from admin_app.core.models import changed_parts, committed_value, wholes_of
from admin_app.sales.models import Order, OrderItem

__all__ = ["held_units"]

# Keys in ``Session.info`` for the duration of one flush.
_BEFORE = "stock.before"

_orders = Order.__table__
_items = OrderItem.__table__

Holdings = dict[int, dict[int, int]]  # order id -> product id -> units held


def held_units(connection: Any, order_ids: list[int]) -> Holdings:
    """The units each of these orders holds now, per product: the sum of its items'
    quantities while the order is neither cancelled nor in the trash, nothing otherwise."""
    held: Holdings = defaultdict(dict)
    if not order_ids:
        return held
    statement = (select(_items.c.order_id, _items.c.product_id, func.sum(_items.c.quantity))
                 .join(_orders, _orders.c.id == _items.c.order_id)
                 .where(_orders.c.id.in_(order_ids), _orders.c.status != "cancelled", _orders.c.deleted_at.is_(None))
                 .group_by(_items.c.order_id, _items.c.product_id))
    for order_id, product_id, units in connection.execute(statement):
        held[order_id][product_id] = int(units)
    return held


def _touched_orders(session: Session) -> list[Order]:
    """The orders this flush inserts, changes or deletes, and those whose items it does."""
    orders: list[Order] = []

    def add(order: Any) -> None:
        if isinstance(order, Order) and not any(order is known for known in orders):
            orders.append(order)

    for record in (*session.new, *session.dirty, *session.deleted):
        add(record)
    for part in changed_parts(session):
        if isinstance(part, OrderItem):
            for order in wholes_of(session, part):
                add(order)
    return orders


def _reason(session: Session, order: Order) -> str:
    """Why this flush moves the order's units."""
    if order in session.new:
        return "order_placed"
    if order in session.deleted:
        return "order_deleted"
    was_deleted = committed_value(session, order, "deleted_at") is not None
    if not was_deleted and order.deleted_at is not None:
        return "order_deleted"
    if was_deleted and order.deleted_at is None:
        return "order_restored"
    if order.status == "cancelled" and committed_value(session, order, "status") != "cancelled":
        return "order_cancelled"
    return "order_changed"


@event.listens_for(Session, "before_flush")
def _note_units_held_before(session: Session, flush_context: Any, instances: Any) -> None:
    orders = _touched_orders(session)
    if not orders:
        session.info.pop(_BEFORE, None)
        return
    stored = [order.id for order in orders if inspect(order).key is not None]
    connection = session.connection(bind_arguments={"mapper": inspect(Order)})
    reasons = [(order, _reason(session, order), order in session.deleted) for order in orders]
    session.info[_BEFORE] = (reasons, held_units(connection, stored))


@event.listens_for(Session, "after_flush")
def _move_the_difference(session: Session, flush_context: Any) -> None:
    noted = session.info.pop(_BEFORE, None)
    if noted is None:
        return
    reasons, before = noted
    connection = session.connection(bind_arguments={"mapper": inspect(Order)})
    after = held_units(connection, [order.id for order, _reason, _purged in reasons])
    movements = []
    for order, reason, purged in reasons:
        was, now = before.get(order.id, {}), after.get(order.id, {})
        for product_id in sorted(was.keys() | now.keys()):
            returned = was.get(product_id, 0) - now.get(product_id, 0)
            if returned:
                # A purged order's row is gone: its movements keep only its number.
                movements.append(Movement(product_id, returned, reason, order_id=None if purged else order.id,
                                          order_number=str(order.id), field="items", order_label=str(order)))
    apply_movements(session, movements)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_BEFORE, None)
