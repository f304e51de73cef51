"""The back office's home page at ``/admin/``: how the shop is doing, at a glance."""

from __future__ import annotations

from typing import Any

from flask_admin import AdminIndexView, expose

from admin_app.core import adapter
from admin_app.core.quick_filters import LAST_30_DAYS, url_with
from admin_app.core.views import RoleAccessMixin
from admin_app.dashboard import services as dashboard
from admin_app.sales.models import ORDER_STATUSES as STATUSES

CHART_WIDTH, CHART_HEIGHT = 900, 220


def chart_bars(points: list[dashboard.DayPoint]) -> list[dict]:
    """Bar geometry for the daily-sales chart, drawn as inline SVG (no script needed)."""
    peak = max((p.revenue for p in points), default=0) or 1
    width = CHART_WIDTH / max(len(points), 1)
    bars = []
    for index, point in enumerate(points):
        height = float(point.revenue / peak) * (CHART_HEIGHT - 20)
        bars.append({"x": round(index * width, 2), "y": round(CHART_HEIGHT - height, 2),
                     "width": round(max(width - 1, 1), 2), "height": round(height, 2), "point": point})
    return bars


class DashboardView(RoleAccessMixin, AdminIndexView):
    @expose("/")
    def index(self):
        sales = dashboard.daily_sales()
        return self.render(
            "admin/dashboard.html",
            period=dashboard.period_figures(),
            by_status=dashboard.orders_by_status(),
            new_customers=dashboard.new_customers(),
            low_stock=dashboard.low_stock_products(),
            top_products=dashboard.top_products(),
            recent_orders=dashboard.recent_orders(),
            sales=sales,
            bars=chart_bars(sales),
            chart_width=CHART_WIDTH,
            chart_height=CHART_HEIGHT,
            low_stock_below=dashboard.LOW_STOCK_BELOW,
            status_urls=self.status_urls(),
            **self.figure_urls(),
        )

    def _list(self, endpoint: str) -> Any:
        return next(v for v in adapter.registered_views(self.admin) if getattr(v, "endpoint", None) == endpoint)

    def figure_urls(self) -> dict[str, str]:
        """The 30-day figures' links: the rows each counts (revenue and orders leave the
        cancelled out, as their figures do)."""
        return {"orders_url": url_with(self._list("order"), order_date=LAST_30_DAYS, exclude={"status": "cancelled"}),
                "customers_url": url_with(self._list("customer"), created_at=LAST_30_DAYS)}

    def status_urls(self) -> dict[str, str]:
        """Each status figure's link: exactly the orders it counts, those of that status in the
        dashboard's period (the order list's status and period filters)."""
        order_view = self._list("order")
        return {status: url_with(order_view, status=status, order_date=LAST_30_DAYS) for status in STATUSES}
