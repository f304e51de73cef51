"""The order workflow: which status may follow which, applied one order at a time."""

from __future__ import annotations

from dataclasses import dataclass, field

from admin_app.models import Order

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("paid", "cancelled"),
    "paid": ("shipped", "cancelled"),
    "shipped": ("delivered",),
    "delivered": (),
    "cancelled": (),
}


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, ())


def allowed_statuses(current: str | None) -> list[str]:
    """The statuses an order may be given in its form: its own, and the valid next ones."""
    if current is None:
        return ["pending", "paid"]
    return [current, *TRANSITIONS.get(current, ())]


@dataclass
class TransitionReport:
    moved: list[Order] = field(default_factory=list)
    refused: list[tuple[Order, str]] = field(default_factory=list)


def move_orders(orders: list[Order], target: str) -> TransitionReport:
    """Give each order ``target`` where the workflow allows it; say why not for the others."""
    report = TransitionReport()
    for order in orders:
        if can_move(order.status, target):
            order.status = target
            report.moved.append(order)
        elif order.status == target:
            report.refused.append((order, f"already {target}"))
        else:
            report.refused.append((order, f"a {order.status} order cannot become {target}"))
    return report
