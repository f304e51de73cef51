"""The live server answers in a real browser."""

import pytest

pytestmark = pytest.mark.browser


def test_back_office_opens_in_chromium(page):
    response = page.goto("/admin/")
    assert response.status == 200
    assert "Shop back office" in page.title() or page.locator("text=Shop back office").count() > 0
