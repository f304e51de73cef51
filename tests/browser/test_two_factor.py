"""Two-factor sign-in and sessions in Chromium: an admin is held at enrolment, scans (here:
reads) the secret, signs out, signs in with a code, and ends a session elsewhere."""

from datetime import timedelta

import pyotp
import pytest

from admin_app.core.models import utcnow
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30 * steps_ahead))


def test_enrol_sign_out_sign_in_with_a_code_and_end_another_session(app, browser, live_server, page, admin_user,
                                                                      monkeypatch):
    monkeypatch.setitem(app.config, "TWO_FACTOR_REQUIRED_ROLES", ("admin",))
    login(page, "admin1", PASSWORD)
    assert page.url.endswith("/admin/account/security/two-factor/")
    page.goto("/admin/employee/")  # held at enrolment
    assert page.url.endswith("/admin/account/security/two-factor/")
    assert page.locator("#two-factor-qr svg").is_visible()
    secret = page.inner_text("#two-factor-secret").replace(" ", "")
    page.fill("input[name=code]", code(secret))
    page.click("#two-factor-enrol-form [type=submit]")
    page.wait_for_load_state("networkidle")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "two-factor-recovery-codes")
    page.click("text=I have saved them")
    # The menu opens only once Bootstrap's script has run: wait for the page to settle.
    page.wait_for_load_state("networkidle")
    assert page.locator("text=On: signing in asks for a code").is_visible()

    page.click("#account-menu")
    page.locator("#logout-button").wait_for(state="visible")
    page.click("#logout-button")
    page.wait_for_load_state("networkidle")
    login(page, "admin1", PASSWORD)
    assert page.url.endswith("/login/two-factor")
    page.fill("input[name=code]", code(secret, 1))  # the enrolment used this step's code
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/admin/")

    # Elsewhere: another browser, signed in with a recovery code.
    other_context = browser.new_context(base_url=live_server)
    other = other_context.new_page()
    try:
        login(other, "admin1", PASSWORD)
        other.fill("input[name=code]", codes[0])
        other.click("button[type=submit], input[type=submit]")
        other.wait_for_load_state("networkidle")
        assert other.url.endswith("/admin/")

        page.goto("/admin/account/")
        rows = page.locator("#active-sessions tbody tr")
        assert rows.count() == 2
        assert page.locator("#active-sessions >> text=this browser").count() == 1
        screenshot(page, "my-sessions")
        page.click("#active-sessions button.end-session")
        page.wait_for_load_state("networkidle")
        assert page.locator("text=The session has been ended").is_visible()
        assert page.locator("#active-sessions tbody tr").count() == 1

        other.goto("/admin/")
        assert "/login" in other.url
    finally:
        other_context.close()
