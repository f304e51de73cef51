"""Signing in and out in Chromium; what each role sees."""

import pytest

from tests import factories as f
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_sign_in_see_the_dashboard_and_sign_out(page, staff_user):
    page.goto("/admin/order/")
    assert "/login?next=" in page.url
    login(page, "staff1", PASSWORD)
    assert page.url.endswith("/admin/order/")
    page.goto("/admin/")
    assert page.locator("text=Dashboard").first.is_visible()
    page.click("#account-menu")
    page.click("#logout-button")
    page.wait_for_load_state("networkidle")
    assert "/login" in page.url
    assert page.locator("text=You have been signed out.").is_visible()
    page.goto("/admin/")
    assert "/login" in page.url


def test_a_viewer_sees_no_edit_buttons(page, viewer_user):
    f.product(name="Desk lamp")
    login(page, "viewer1", PASSWORD)
    page.goto("/admin/product/")
    assert page.locator("text=Desk lamp").is_visible()
    assert page.locator("a[href*='/admin/product/new/']").count() == 0
    assert page.locator("a[href*='/admin/product/edit/']").count() == 0
    assert page.locator("form[action*='/admin/product/delete/']").count() == 0
    assert page.locator("a[href*='/admin/employee/']").count() == 0


def test_a_locked_out_login_shows_the_message(page, staff_user):
    for _ in range(5):
        login(page, "staff1", "wrong password!")
        assert page.locator("text=Invalid username or password.").is_visible()
    login(page, "staff1", PASSWORD)
    assert page.locator("text=Too many failed sign-in attempts").is_visible()
    screenshot(page, "locked-out")
