"""The dashboard's figures, each from one aggregate query (no Python loops over orders).

Revenue counts every order that is not cancelled or deleted: items at the price paid plus
shipping. Periods are the last 30 days and the 30 before, ending now. Rows in the trash are
left out by the trash rule (``core.soft_delete``), as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.elements import ColumnElement

from admin_app.accounts.models import Customer
from admin_app.catalog.models import Product
from admin_app.core.models import to_cents, utcnow
from admin_app.core.quick_filters import ROLLING_PERIOD
from admin_app.extensions import db
from admin_app.sales.models import ORDER_STATUSES, Order, OrderItem

PERIOD = ROLLING_PERIOD  # the order list's "Last 30 days" is the same window: the figures link to it
CHART_DAYS = 90
LOW_STOCK_BELOW = 10
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PeriodFigures:
    revenue: Decimal
    orders: int
    previous_revenue: Decimal
    previous_orders: int

    @staticmethod
    def change(current: Decimal | int, previous: Decimal | int) -> float | None:
        """Percentage change against the previous period (None when there was nothing)."""
        if not previous:
            return None
        return float((Decimal(current) - Decimal(previous)) / Decimal(previous) * 100)

    @property
    def revenue_change(self) -> float | None:
        return self.change(self.revenue, self.previous_revenue)

    @property
    def orders_change(self) -> float | None:
        return self.change(self.orders, self.previous_orders)


@dataclass(frozen=True)
class DayPoint:
    day: date
    revenue: Decimal
    orders: int


def _money(value: Any) -> Decimal:
    return to_cents(value or 0) or ZERO


def day_of(column: ColumnElement[datetime]) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp, on SQLite (text) and PostgreSQL (timestamptz)."""
    if db.engine.dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _live_orders_since(since: datetime):
    """Totals (stored items subtotal + shipping) of live, non-cancelled orders since ``since``."""
    return (
        select(Order.id, Order.order_date, (Order.items_subtotal + Order.shipping_fee).label("total"))
        .where(Order.order_date >= since, Order.status != "cancelled")
        .subquery()
    )


def period_figures(now: datetime | None = None) -> PeriodFigures:
    now = now or utcnow()
    start = now - PERIOD
    orders = _live_orders_since(now - 2 * PERIOD)
    current = orders.c.order_date >= start
    row = db.session.execute(select(
        func.sum(case((current, orders.c.total), else_=0)),
        func.count(case((current, 1))),
        func.sum(case((current, 0), else_=orders.c.total)),
        func.count(case((current, None), else_=1)),
    )).one()
    return PeriodFigures(_money(row[0]), row[1] or 0, _money(row[2]), row[3] or 0)


def orders_by_status(now: datetime | None = None) -> list[tuple[str, int]]:
    """Orders of the last 30 days per status, in workflow order."""
    since = (now or utcnow()) - PERIOD
    rows = dict(db.session.execute(
        select(Order.status, func.count()).where(Order.order_date >= since)
        .group_by(Order.status)
    ).all())
    return [(status, rows.get(status, 0)) for status in ORDER_STATUSES]


def new_customers(now: datetime | None = None) -> tuple[int, int]:
    """Customers who joined in the last 30 days, and in the 30 before."""
    now = now or utcnow()
    start = now - PERIOD
    row = db.session.execute(
        select(func.count(case((Customer.created_at >= start, 1))),
               func.count(case((Customer.created_at < start, 1))))
        .where(Customer.created_at >= now - 2 * PERIOD)
    ).one()
    return row[0] or 0, row[1] or 0


def low_stock_products(limit: int = 10) -> list[Product]:
    return list(db.session.scalars(
        select(Product).where(Product.stock < LOW_STOCK_BELOW)
        .order_by(Product.stock, Product.name).limit(limit)
    ))


def top_products(now: datetime | None = None, limit: int = 5) -> list[tuple[Product, int, Decimal]]:
    """Best sellers of the last 30 days by revenue: product, units, revenue."""
    since = (now or utcnow()) - PERIOD
    # The items *table*: ``recent`` holds the month's live orders only (the trash rule applies
    # to Order), so their items are live; the rule's own per-item check on the OrderItem
    # entity would look each of the month's items' order up again (bench/README.md).
    items = OrderItem.__table__
    # The month's orders first (date index), then their items (order_id index). Written as a
    # join, SQLite's planner may start from the items instead and read all million of them.
    recent = select(Order.id).where(Order.order_date >= since, Order.status != "cancelled")
    sold = (
        select(items.c.product_id, func.sum(items.c.quantity).label("units"),
               func.sum(items.c.price * items.c.quantity).label("revenue"))
        .where(items.c.order_id.in_(recent)).group_by(items.c.product_id).subquery()
    )
    # Ranked after the join with Product, which leaves deleted products out: the top five
    # live ones (a product filter per item cost SQLite a fifth more).
    rows = db.session.execute(
        select(Product, sold.c.units, sold.c.revenue).join(sold, sold.c.product_id == Product.id)
        .order_by(sold.c.revenue.desc(), Product.id).limit(limit)
    ).all()
    return [(product, int(units), _money(revenue)) for product, units, revenue in rows]


def recent_orders(limit: int = 10) -> list[Order]:
    return list(db.session.scalars(
        select(Order).options(joinedload(Order.user))
        .order_by(Order.order_date.desc(), Order.id.desc()).limit(limit)
    ))


def daily_sales(now: datetime | None = None, days: int = CHART_DAYS) -> list[DayPoint]:
    """Revenue and orders per UTC day for the last ``days`` days, every day present."""
    now = now or utcnow()
    first_day = (now - timedelta(days=days - 1)).date()
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=now.tzinfo)
    orders = _live_orders_since(since)
    day = day_of(orders.c.order_date).label("day")
    rows = db.session.execute(
        select(day, func.sum(orders.c.total), func.count()).group_by(day)
    ).all()
    by_day = {(r[0] if isinstance(r[0], date) else date.fromisoformat(r[0])): r for r in rows}
    points = []
    for offset in range(days):
        current = first_day + timedelta(days=offset)
        row = by_day.get(current)
        points.append(DayPoint(current, _money(row[1]) if row else ZERO, row[2] if row else 0))
    return points
