"""The themes in the browser (issue 21): "Same as my system" follows prefers-color-scheme,
and in Dark the look-ups, row icons and badges are dark-themed too (axe checks text
contrast; these are the parts it does not see)."""

from decimal import Decimal

import pytest

from admin_app.extensions import db
from tests import factories as f
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

BACKGROUND = "() => getComputedStyle(document.body).backgroundColor"


def luminance(css_colour: str) -> float:
    """Relative luminance (WCAG) of an ``rgb(...)``/``rgba(...)`` colour."""
    parts = [float(p) for p in css_colour[css_colour.index("(") + 1:-1].split(",")[:3]]
    linear = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in parts]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(("scheme", "dark"), [("dark", True), ("light", False)])
def test_same_as_my_system_follows_the_colour_scheme(browser, live_server, staff_user, scheme, dark):
    staff_user.preferences["theme"] = "system"
    db.session.commit()
    context = browser.new_context(base_url=live_server, color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto("/login")
        assert (luminance(page.evaluate(BACKGROUND)) < 0.05) is dark  # signed out: the system's
        login(page, "staff1", PASSWORD)
        assert (luminance(page.evaluate(BACKGROUND)) < 0.05) is dark
    finally:
        context.close()


def test_dark_theme_darkens_lookups_icons_and_badges(page, staff_user):
    ada = f.customer(username="ada.l", first_name="Ada", last_name="Lovelace")
    lamp = f.product(name="Brass lamp", price=Decimal("20.00"), stock=2)
    f.order(ada, items=[(lamp, 1, Decimal("20.00"))])
    staff_user.preferences["theme"] = "dark"
    db.session.commit()
    login(page, "staff1", PASSWORD)
    body = page.evaluate(BACKGROUND)
    assert luminance(body) < 0.05
    # The badge beside the employee's name, and the low-stock badge on the dashboard.
    for badge in ("#account-menu .badge", "#low-stock .badge"):
        colours = page.eval_on_selector(badge, "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
        assert contrast(*colours) >= 4.5, (badge, colours)

    page.goto("/admin/order/")
    for icon in ("a[title='Edit Record'] .fa", "form.icon button .fa-trash"):
        colour = page.eval_on_selector(f"#model-list {icon}", "e => getComputedStyle(e).color")
        assert contrast(colour, body) >= 3, (icon, colour)  # WCAG 1.4.11: non-text contrast

    page.goto("/admin/order/new/")
    choice = page.eval_on_selector("#s2id_user .select2-choice", "e => getComputedStyle(e).backgroundColor")
    assert luminance(choice) < 0.05, choice
    page.focus("#s2id_user .select2-focusser")
    page.keyboard.type("Lov")
    page.locator("#select2-drop li.select2-result-selectable").first.wait_for()
    drop = page.eval_on_selector("#select2-drop", "e => getComputedStyle(e).backgroundColor")
    assert luminance(drop) < 0.05, drop
    screenshot(page, "order-form-dark-lookup")
