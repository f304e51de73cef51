"""Two tabs editing the same product: the second save is refused, the first survives."""

from decimal import Decimal

import pytest

from admin_app.catalog.models import Product
from admin_app.extensions import db
from tests import factories as f
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_second_tab_sees_the_conflict(page, staff_user):
    product = f.product(name="Oak desk", price=Decimal("100.00"), description="Solid oak")
    login(page, "staff1", PASSWORD)
    url = f"/admin/product/edit/?id={product.id}"
    first = page
    second = page.context.new_page()
    first.goto(url)
    second.goto(url)

    first.fill("input[name=price]", "120.00")
    first.click("input[type=submit][value='Save']")
    first.wait_for_load_state("networkidle")

    second.fill("textarea[name=description]", "Veneer")
    second.click("input[type=submit][value='Save']")
    second.wait_for_load_state("networkidle")
    assert second.locator("text=since you opened it").is_visible()
    assert second.input_value("input[name=price]") == "120.00"  # the current values are shown
    assert second.input_value("textarea[name=description]") == "Solid oak"

    db.session.expire_all()
    saved = db.session.get(Product, product.id)
    assert (saved.price, saved.description) == (Decimal("120.00"), "Solid oak")


def test_a_customer_tab_opened_before_an_address_fix_sees_the_conflict(page, staff_user):
    from admin_app.accounts.models import Address, Customer

    ada = f.customer(username="ada.l", first_name="Ada", last_name="Lovelace")
    home = f.address(ada, street="Hmoe St 1")
    login(page, "staff1", PASSWORD)
    customer_tab, address_tab = page, page.context.new_page()
    customer_tab.goto(f"/admin/customer/edit/?id={ada.id}")
    address_tab.goto(f"/admin/address/edit/?id={home.id}")

    address_tab.fill("input[name=street]", "Home St 1")
    address_tab.click("input[type=submit][value='Save']")
    address_tab.wait_for_load_state("networkidle")

    customer_tab.fill("input[name=first_name]", "Augusta")
    customer_tab.click("input[type=submit][value='Save']")
    customer_tab.wait_for_load_state("networkidle")
    assert customer_tab.locator("text=since you opened it").is_visible()
    assert customer_tab.input_value("input[name='addresses-0-street']") == "Home St 1"
    db.session.expire_all()
    assert (db.session.get(Customer, ada.id).first_name, db.session.get(Address, home.id).street) == (
        "Ada", "Home St 1")
