"""An employee switches language and time zone on My account, and reads the order list in
them (issue 19): German labels, ``1.234,56 €``, a late-evening UTC order on the next day in
Warsaw; then Polish, in UTC."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests import factories as f
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def choose(page, language: str, zone: str) -> None:
    page.goto("/admin/account/")
    page.select_option("select[name=prefs-language]", language)
    page.select_option("select[name=prefs-timezone]", zone)
    page.click("#preferences-form [type=submit]")
    page.wait_for_load_state("networkidle")


def test_language_and_time_zone_switch_on_my_account(page, staff_user):
    lamp = f.product(name="Walnut desk", price=Decimal("1224.56"))
    order = f.order(items=[(lamp, 1, Decimal("1224.56"))], shipping_fee=Decimal("10.00"),
                    order_date=datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    login(page, "staff1", PASSWORD)

    choose(page, "de", "Europe/Warsaw")
    assert page.locator(".alert-success").inner_text().strip().endswith("Ihre Einstellungen wurden gespeichert.")
    assert page.locator("html").get_attribute("lang") == "de"
    page.goto("/admin/order/")
    assert page.title() == "Verkauf - Bestellungen - Shop-Verwaltung"
    row = page.locator(f"tr:has(input.action-checkbox[value='{order.id}'])")
    assert row.locator("td.col-total").inner_text().strip() == "1.234,56\u00a0€"
    assert row.locator("td.col-order_date").inner_text().strip() == "11.03.26, 00:30"
    headers = page.locator("table.model-list thead th").all_inner_texts()
    assert any("Kunde" in text for text in headers) and any("Gesamt" in text for text in headers)

    choose(page, "pl", "UTC")
    assert page.locator("html").get_attribute("lang") == "pl"
    page.goto("/admin/order/")
    assert page.title() == "Sprzedaż - Zamówienia - Panel sklepu"
    row = page.locator(f"tr:has(input.action-checkbox[value='{order.id}'])")
    assert row.locator("td.col-total").inner_text().strip() == "1\u00a0234,56\u00a0€"
    assert row.locator("td.col-order_date").inner_text().strip() == "10.03.2026, 23:30"
    assert row.locator("td.col-status").inner_text().strip() == "Oczekujące"
    headers = page.locator("table.model-list thead th").all_inner_texts()
    assert any("Klient" in text for text in headers) and any("Razem" in text for text in headers)
