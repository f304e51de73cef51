"""One-click filters above the order list: a click on a status, then on a period, shows
exactly those orders, and the chosen links say so (aria-current)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from admin_app.core.models import utcnow
from admin_app.extensions import db
from tests import factories as f
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_status_then_period_in_two_clicks(page, staff_user):
    product = f.product()
    wanted = f.order(items=[(product, 1, Decimal("5.00"))], order_date=utcnow())
    old = f.order(items=[(product, 1, Decimal("5.00"))], order_date=utcnow() - timedelta(days=45))
    paid = f.order(items=[(product, 1, Decimal("5.00"))], order_date=utcnow())
    paid.status = "paid"
    db.session.commit()
    login(page, "staff1", PASSWORD)
    page.goto("/admin/order/")
    filters = page.get_by_role("navigation", name="Quick filters")
    filters.get_by_role("group", name="Status").get_by_role("link", name="Pending (2)").click()
    page.wait_for_load_state("networkidle")
    shown = {int(v) for v in page.locator("input.action-checkbox").evaluate_all("els => els.map(e => e.value)")}
    assert shown == {wanted.id, old.id}
    filters.get_by_role("group", name="Date").get_by_role("link", name="Today").click()
    page.wait_for_load_state("networkidle")
    shown = {int(v) for v in page.locator("input.action-checkbox").evaluate_all("els => els.map(e => e.value)")}
    assert shown == {wanted.id}
    assert filters.locator("a[aria-current='true']").all_inner_texts() == ["Pending (2)", "Today", "Live"]
