"""A paid order in the browser: what its status freezes is read-only (the customer look-up,
the shipping fee, every item line, no "Add" or delete), the status offers only the next
ones, and the address, still open to change, is changed and saved."""

from decimal import Decimal

import pytest

from admin_app.extensions import db
from admin_app.sales.models import Order
from tests import factories as f
from tests.browser.conftest import login
from tests.browser.test_order_flow import pick
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_a_paid_order_shows_its_frozen_fields_read_only_and_saves_a_new_address(page, staff_user):
    ada = f.customer(username="ada.l", first_name="Ada", last_name="Lovelace")
    f.address(ada, street="Analytical Row 1", city="London")
    f.address(ada, street="Difference Lane 2", city="London")
    lamp = f.product(name="Brass lamp", price=Decimal("20.00"))
    order = f.order(ada, items=[(lamp, 2, Decimal("20.00"))], status="paid", shipping_fee=Decimal("5.00"))

    login(page, "staff1", PASSWORD)
    page.goto(f"/admin/order/edit/?id={order.id}")
    assert page.locator("#s2id_user").get_attribute("class").count("select2-container-disabled") == 1
    assert "select2-container-disabled" in page.locator("#s2id_items-0-product").get_attribute("class")
    for name in ("shipping_fee", "items-0-quantity", "items-0-price"):
        field = page.locator(f"input[name='{name}']")
        assert not field.is_editable()
    page.locator("input[name='items-0-quantity']").press_sequentially("9")  # typing changes nothing
    assert page.input_value("input[name='items-0-quantity']") == "2"
    assert page.locator("text=Add Items").count() == 0 and page.locator("input[name='del-items-0']").count() == 0
    assert page.locator("select[name=status] option").all_inner_texts() == ["Paid", "Shipped", "Cancelled"]
    assert page.locator("text=The order is paid: this can no longer change.").count() == 3

    pick(page, "#s2id_address", "Differ", "Difference Lane 2")
    page.click("input[type=submit][value='Save']")
    page.wait_for_load_state("networkidle")
    assert page.locator("text=Record was successfully saved.").is_visible()
    db.session.expire_all()
    saved = db.session.get(Order, order.id)
    assert (saved.address.street, saved.items[0].quantity, saved.shipping_fee) == (
        "Difference Lane 2", 2, Decimal("5.00"))
