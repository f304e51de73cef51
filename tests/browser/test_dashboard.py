"""The dashboard renders its figures and chart in Chromium."""

import pytest

from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD
from tests.integration.test_dashboard import shop_with_history

pytestmark = pytest.mark.browser


def test_dashboard_renders_its_chart(page, staff_user):
    shop_with_history()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    login(page, "staff1", PASSWORD)
    assert page.locator("#revenue-30d").inner_text().strip() == "€75.00"  # English, the shop's EUR
    chart = page.locator("#sales-chart svg")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 50
    assert page.locator("#sales-chart rect.chart-bar").count() == 90
    assert page.locator("#low-stock a", has_text="<b>Chair</b>").is_visible()  # shown as text, not markup
    screenshot(page, "dashboard")
    # The themes are served from static/ with system fonts (no @import of web fonts since
    # issue 21): the CSP blocks nothing.
    blocked = [e for e in errors if "Content Security Policy" in e]
    assert not blocked, blocked
