"""Deleting is reversible: delete a product, find it with the list's "In the trash" switch, restore it."""

import pytest

from admin_app.catalog.models import Product
from admin_app.extensions import db
from tests import factories as f
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_delete_find_in_the_trash_and_restore(page, staff_user):
    product = f.product(name="Walnut desk lamp")
    login(page, "staff1", PASSWORD)
    page.goto("/admin/product/")
    row = page.locator("tr", has_text="Walnut desk lamp")
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("form[action*='/delete/'] button").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("text=Walnut desk lamp").count() == 0

    page.click(".quick-filters a:has-text('In the trash')")
    page.wait_for_load_state("networkidle")
    assert page.locator("td", has_text="Walnut desk lamp").is_visible()
    page.click("text=Add Filter")  # the switch is the one way: no "Deleted" filter, no row for it
    assert "Deleted" not in page.locator(".field-filters a.filter").all_inner_texts()
    assert page.locator("table.filters tr").count() == 0

    page.goto(f"/admin/product/edit/?id={product.id}")
    assert page.locator("#deleted-notice").is_visible()
    page.click("#restore-button")
    page.wait_for_load_state("networkidle")
    assert "restored" in page.content()
    db.session.expire_all()
    assert db.session.get(Product, product.id).deleted_at is None
    page.goto("/admin/product/")
    assert page.locator("td", has_text="Walnut desk lamp").is_visible()


def test_purge_shows_what_goes_then_removes_it(page, admin_user):
    """An admin purges an order from the trash: the confirmation lists its items under it."""
    from decimal import Decimal

    from sqlalchemy import select

    from admin_app.sales.models import Order

    order = f.order(items=[(f.product(name="Brass desk lamp"), 2, Decimal("30.00"))])
    order.soft_delete()
    db.session.commit()
    order_id = order.id
    login(page, "admin1", PASSWORD)
    page.goto("/admin/order/")
    page.click(".quick-filters a:has-text('In the trash')")
    page.wait_for_load_state("networkidle")
    page.locator(f"input.action-checkbox[value='{order_id}']").check()
    page.click("text=With selected")
    page.click("a:has-text('Purge permanently')")
    page.wait_for_load_state("networkidle")
    removes = page.locator("#purge-removes")
    assert removes.is_visible() and "2 × Brass desk lamp" in removes.inner_text()
    page.click("#purge-button")
    page.wait_for_load_state("networkidle")
    assert "1 record permanently removed" in page.content()
    db.session.expire_all()
    found = select(Order).where(Order.id == order_id).execution_options(include_deleted=True)
    assert db.session.scalars(found).first() is None
