"""The dashboard at /admin/: figures from aggregate queries, escaped, a fixed query count."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import event

from admin_app.catalog.stock import adjust_stock
from admin_app.core.models import utcnow
from admin_app.dashboard import services as dashboard
from admin_app.extensions import db
from tests import factories as f
from tests.conftest import login_as


def shop_with_history():
    now = utcnow()
    lamp = f.product(name="Lamp", price=Decimal("10.00"), stock=3)
    chair = f.product(name="<b>Chair</b>", price=Decimal("50.00"), stock=10)
    f.product(name="Plenty", stock=500)
    alice = f.customer(username="alice")
    # Current period: 2 live orders; a cancelled and a deleted one that do not count.
    f.order(alice, items=[(lamp, 2, Decimal("10.00"))], shipping_fee=Decimal("5.00"),
            order_date=now - timedelta(days=1), status="paid")
    f.order(alice, items=[(chair, 1, Decimal("50.00"))], order_date=now - timedelta(days=10), status="pending")
    f.order(alice, items=[(chair, 9, Decimal("50.00"))], order_date=now - timedelta(days=2), status="cancelled")
    gone = f.order(alice, items=[(chair, 9, Decimal("50.00"))], order_date=now - timedelta(days=3))
    gone.soft_delete()
    # Previous period: one order.
    f.order(alice, items=[(lamp, 1, Decimal("8.00"))], order_date=now - timedelta(days=45), status="delivered")
    adjust_stock(chair, -9, "correction")  # the last of the 10 sold (pending): none left
    db.session.commit()
    return now


def test_period_figures_status_counts_and_products():
    now = shop_with_history()
    figures = dashboard.period_figures(now)
    assert (figures.revenue, figures.orders) == (Decimal("75.00"), 2)
    assert (figures.previous_revenue, figures.previous_orders) == (Decimal("8.00"), 1)
    assert round(figures.revenue_change, 1) == 837.5
    assert dict(dashboard.orders_by_status(now)) == {"pending": 1, "paid": 1, "shipped": 0, "delivered": 0,
                                                     "cancelled": 1}
    assert [p.name for p in dashboard.low_stock_products()] == ["<b>Chair</b>", "Lamp"]
    assert [(p.name, units, revenue) for p, units, revenue in dashboard.top_products(now)] == [
        ("<b>Chair</b>", 1, Decimal("50.00")), ("Lamp", 2, Decimal("20.00"))]
    assert dashboard.new_customers(now) == (1, 0)


def test_daily_sales_has_every_day_and_the_right_totals():
    now = shop_with_history()
    points = dashboard.daily_sales(now)
    assert len(points) == 90 and points[-1].day == now.date()
    by_day = {p.day: p for p in points}
    yesterday = by_day[(now - timedelta(days=1)).date()]
    assert (yesterday.revenue, yesterday.orders) == (Decimal("25.00"), 1)
    assert sum(p.orders for p in points) == 3
    assert sum(p.revenue for p in points) == Decimal("83.00")


def test_dashboard_page_shows_figures_escaped_with_few_queries(client, staff_user):
    shop_with_history()
    login_as(client, staff_user)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        page = client.get("/admin/")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert page.status_code == 200
    assert "75.00" in page.text and "8.00" not in page.text.split('id="revenue-30d"')[1][:80]
    assert "&lt;b&gt;Chair&lt;/b&gt;" in page.text and "<b>Chair</b>" not in page.text
    assert page.text.count("<rect") == 90
    assert "/admin/order/?flt0_" in page.text
    # One statement per figure, plus the signed-in user: never one per order.
    assert len(statements) <= 9, statements


def test_dashboard_with_no_data(client, viewer_user):
    login_as(client, viewer_user)
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "No orders yet." in page.text and "no earlier data" in page.text
