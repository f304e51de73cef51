"""The order form tells the story while it is edited (issue 22): each line's subtotal and
the order's total follow the items as they change; leaving a changed form asks first."""

from decimal import Decimal

import pytest

from admin_app.extensions import db
from tests import factories as f
from tests.browser.conftest import login
from tests.browser.test_order_flow import pick
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def totals(page) -> tuple[str, str, str]:
    return tuple(page.locator(selector).inner_text()
                 for selector in ("#order-items-total", "#order-shipping-total", "#order-total"))


def test_line_subtotals_and_the_total_follow_the_items(page, staff_user):
    f.product(name="Brass lamp", price=Decimal("20.00"))
    f.product(name="Oak desk", price=Decimal("1150.00"))
    login(page, "staff1", PASSWORD)
    page.goto("/admin/order/new/")
    page.fill("input[name=shipping_fee]", "5.00")
    page.click("text=Add Items")
    assert page.input_value("input[name='items-0-quantity']") == "1"  # a new line is one
    pick(page, "#s2id_items-0-product", "Brass", "Brass lamp")
    assert page.locator("#items-0 output.line-subtotal").inner_text() == "€20.00"  # the product's price
    page.fill("input[name='items-0-quantity']", "2")
    assert page.locator("#items-0 output.line-subtotal").inner_text() == "€40.00"
    assert totals(page) == ("€40.00", "€5.00", "€45.00")
    page.click("text=Add Items")
    pick(page, "#s2id_items-1-product", "Oak", "Oak desk")
    assert totals(page) == ("€1,190.00", "€5.00", "€1,195.00")
    page.fill("input[name='items-1-price']", "1000")  # a price typed overrides the product's
    assert totals(page) == ("€1,040.00", "€5.00", "€1,045.00")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#items-1 .inline-remove-field")
    assert totals(page) == ("€40.00", "€5.00", "€45.00")


def test_an_existing_orders_total_leaves_out_lines_marked_for_removal(page, staff_user):
    lamp, desk = f.product(name="Brass lamp"), f.product(name="Oak desk")
    order = f.order(items=[(lamp, 3, Decimal("20.00")), (desk, 1, Decimal("150.00"))], shipping_fee=Decimal("4.90"))
    login(page, "staff1", PASSWORD)
    page.goto(f"/admin/order/edit/?id={order.id}")
    assert totals(page) == ("€210.00", "€4.90", "€214.90")
    page.check("input[name='del-items-1']")
    assert totals(page) == ("€60.00", "€4.90", "€64.90")


def test_leaving_a_changed_form_asks_first_and_saving_does_not(page, staff_user):
    product = f.product(name="Brass lamp")
    login(page, "staff1", PASSWORD)
    page.goto(f"/admin/product/edit/?id={product.id}")
    asked = []

    def stay(dialog):
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.click("#back-to-list")  # unchanged: leaves without a word
    page.wait_for_url("**/admin/product/")
    assert asked == []
    page.goto(f"/admin/product/edit/?id={product.id}")
    page.fill("input[name=name]", "Brass lamp, polished")
    page.click("#back-to-list")
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"] and "/edit/" in page.url  # stayed, the change still there
    assert page.input_value("input[name=name]") == "Brass lamp, polished"
    page.remove_listener("dialog", stay)
    page.click("input[type=submit][value='Save']")
    page.wait_for_load_state("networkidle")
    assert asked == ["beforeunload"] and page.locator("text=Record was successfully saved.").is_visible()


def test_the_running_total_reads_and_writes_amounts_as_the_employees_language_does(page, staff_user):
    staff_user.preferences = {**(staff_user.preferences or {}), "language": "de"}
    db.session.commit()
    f.product(name="Brass lamp", price=Decimal("1000.00"))
    login(page, "staff1", PASSWORD)
    page.goto("/admin/order/new/")
    page.fill("input[name=shipping_fee]", "4,90")  # the German decimal comma
    page.click("#items-button")
    pick(page, "#s2id_items-0-product", "Brass", "Brass lamp")
    page.fill("input[name='items-0-quantity']", "2")
    assert totals(page) == ("2.000,00\u00a0€", "4,90\u00a0€", "2.004,90\u00a0€")
