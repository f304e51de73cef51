"""The order workflow: moving orders along their life cycle, one order at a time.

The life cycle itself (which status may follow which, what each status freezes, which
orders may be deleted) lives beside the model, in :mod:`admin_app.sales.models`, and is
checked at every flush; this module asks it first, so a bulk action can say which orders
it left unchanged and why instead of failing as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from admin_app.extensions import db
from admin_app.sales.models import TRANSITIONS, Order, transition_problem

__all__ = ["TRANSITIONS", "TransitionReport", "allowed_statuses", "move_order_ids", "move_orders"]


def allowed_statuses(current: str | None) -> list[str]:
    """The statuses an order may be given in its form: its own and the valid next ones;
    a new order only ``pending``."""
    if current is None:
        return ["pending"]
    return [current, *TRANSITIONS.get(current, ())]


@dataclass
class TransitionReport:
    moved: list[Order] = field(default_factory=list)
    refused: list[tuple[Order, str]] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)


def move_orders(orders: list[Order], target: str) -> TransitionReport:
    """Give each order ``target`` where the life cycle allows it; say why not for the others."""
    report = TransitionReport()
    for order in orders:
        problem = transition_problem(order.status, target)
        if problem is None:
            order.status = target
            report.moved.append(order)
        else:
            report.refused.append((order, problem))
    return report


def move_order_ids(ids: Iterable[int], target: str) -> TransitionReport:
    """:func:`move_orders` for the orders with these ids (in id order; ids of no order are
    reported as ``missing``). The caller commits."""
    wanted = sorted(set(ids))
    orders = list(db.session.scalars(select(Order).where(Order.id.in_(wanted)).order_by(Order.id)))
    report = move_orders(orders, target)
    found = {order.id for order in orders}
    report.missing = [order_id for order_id in wanted if order_id not in found]
    return report
