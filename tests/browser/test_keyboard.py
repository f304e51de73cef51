"""The working day with the keyboard alone (issue 21): sign in, find an order through the
menu and the search, add an item through the product look-up (select2 over ajax), save,
and move orders on with a bulk action. No mouse click anywhere: only key presses, and
every control is reached with Tab from where the last step left the focus."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from admin_app.extensions import db
from admin_app.sales.models import Order
from tests import factories as f
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

MAX_TABS = 120


def focused(page, selector: str, text: str = "") -> bool:
    """The focus is on an element matching the CSS ``selector`` (and holding ``text``)."""
    return page.evaluate("([s, t]) => { const e = document.activeElement;"
                         " return !!e && e.matches(s) && e.textContent.includes(t); }", [selector, text])


def tab_to(page, selector: str, text: str = "", backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focus is on ``selector``; fail if it never is."""
    for _ in range(MAX_TABS):
        if focused(page, selector, text):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    seen = page.evaluate("() => document.activeElement.outerHTML.slice(0, 200)")
    raise AssertionError(f"{selector} {text!r} cannot be reached with Tab (focus ended on {seen})")


def enter_and_wait(page) -> None:
    """Press Enter on what opens another page, and wait for it."""
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")


def visible_focus(page) -> bool:
    """The focused control draws a ring: an outline or a box shadow."""
    return page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'; }""")


def test_the_working_day_with_the_keyboard_alone(page, staff_user):
    ada = f.customer(username="ada.l", first_name="Ada", last_name="Lovelace")
    f.address(ada, street="Analytical Row 1", city="London")
    lamp = f.product(name="Brass lamp", price=Decimal("20.00"))
    f.product(name="Oak desk", price=Decimal("150.00"))
    order = f.order(ada, items=[(lamp, 1, Decimal("20.00"))])
    other = f.order(f.customer(username="bob.o", first_name="Bob", last_name="Other"),
                    items=[(lamp, 2, Decimal("20.00"))])

    # Sign in: the username has the focus when the page opens.
    page.goto("/login")
    assert focused(page, "input[name=username]")
    page.keyboard.type("staff1")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    enter_and_wait(page)
    assert page.url.endswith("/admin/")

    # The skip link is the first stop and leads past the menu.
    page.keyboard.press("Tab")
    assert focused(page, "a.skip-link") and page.locator("a.skip-link").is_visible()
    assert visible_focus(page)

    # Sales > Orders through the menu.
    tab_to(page, "a.dropdown-toggle", "Sales")
    page.keyboard.press("Enter")
    tab_to(page, "a.dropdown-item", "Orders")
    enter_and_wait(page)
    assert "/admin/order/" in page.url

    # Find Ada's order with the search box, and open it for editing.
    tab_to(page, "input[name=search]")
    page.keyboard.type("ada.l")
    enter_and_wait(page)
    assert page.locator("#model-list tbody tr").count() == 1
    assert "Ada Lovelace" in page.locator("#model-list tbody tr").inner_text()
    tab_to(page, f"a[title='Edit Record'][href*='id={order.id}']")
    assert visible_focus(page)
    enter_and_wait(page)
    assert f"/admin/order/edit/?id={order.id}" in page.url

    # Add an item line, pick the product in its look-up by typing, set the quantity, save.
    tab_to(page, "#items-button")
    page.keyboard.press("Enter")
    line = page.locator("#items .inline-field-list > .inline-field").nth(1)
    line.locator(".select2-container").wait_for()
    lookup = "#items .inline-field-list > .inline-field:nth-child(2) .select2-focusser"
    tab_to(page, lookup, backwards=True)
    assert page.evaluate("""s => { const input = document.querySelector(s);
        return [...input.getAttribute('aria-labelledby').split(' ')]
            .map(id => document.getElementById(id).textContent.trim()).join(' '); }""", lookup).startswith("Product")
    page.keyboard.type("Oak")
    page.locator("#select2-drop li.select2-result-selectable", has_text="Oak desk").wait_for()
    page.keyboard.press("Enter")
    assert "Oak desk" in line.locator(".select2-chosen").inner_text()
    tab_to(page, "#items .inline-field-list > .inline-field:nth-child(2) input[name$='-quantity']")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    tab_to(page, "input[type=submit][value='Save']")
    enter_and_wait(page)
    assert page.locator("text=Record was successfully saved.").is_visible()
    db.session.expire_all()
    saved = db.session.get(Order, order.id)
    assert sorted((i.product.name, i.quantity) for i in saved.items) == [("Brass lamp", 1), ("Oak desk", 2)]

    # Back on the list: select both orders with the space bar, then "Mark as paid".
    page.goto("/admin/order/")
    for row in (order, other):
        tab_to(page, f"input.action-checkbox[value='{row.id}']")
        page.keyboard.press("Space")
    assert page.locator("input.action-checkbox:checked").count() == 2
    tab_to(page, "a.dropdown-toggle", "With selected", backwards=True)
    page.keyboard.press("Enter")
    tab_to(page, "a.dropdown-item", "Mark as paid")
    page.once("dialog", lambda dialog: dialog.accept())
    enter_and_wait(page)
    db.session.expire_all()
    assert [o.status for o in db.session.scalars(select(Order).order_by(Order.id))] == ["paid", "paid"]
