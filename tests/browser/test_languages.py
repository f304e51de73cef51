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
NBSP = "\u00a0"


def choose(page, language: str, zone: str) -> str:
    """Save a language and a time zone on My account; the confirmation it shows."""
    page.goto("/admin/account/")
    page.select_option("select[name=prefs-language]", language)
    page.select_option("select[name=prefs-timezone]", zone)
    page.click("#preferences-form [type=submit]")
    page.wait_for_load_state("networkidle")
    # The message's own text, not its close button's "×".
    return page.locator(".alert-success").evaluate(
        "alert => [...alert.childNodes].filter(node => node.nodeType === Node.TEXT_NODE)"
        ".map(node => node.textContent).join('').trim()")


def order_list(page, order_id: int) -> dict[str, str]:
    """What the order list says: its language, title, column headers and one order's cells."""
    page.goto("/admin/order/")
    row = page.locator(f"tr:has(input.action-checkbox[value='{order_id}'])")
    cells = {name: row.locator(f"td.col-{name}").inner_text().strip() for name in ("order_date", "status", "total")}
    headers = " | ".join(text.strip() for text in page.locator("table.model-list thead th").all_inner_texts())
    return {"lang": page.locator("html").get_attribute("lang"), "title": page.title(), "headers": headers, **cells}


def test_language_and_time_zone_switch_on_my_account(page, staff_user):
    lamp = f.product(name="Walnut desk", price=Decimal("1224.56"))
    order = f.order(items=[(lamp, 1, Decimal("1224.56"))], shipping_fee=Decimal("10.00"),
                    order_date=datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    login(page, "staff1", PASSWORD)

    assert choose(page, "de", "Europe/Warsaw").endswith("Ihre Einstellungen wurden gespeichert.")
    german = order_list(page, order.id)
    assert (german["lang"], german["title"]) == ("de", "Verkauf - Bestellungen - Shop-Verwaltung")
    assert "Kunde" in german["headers"] and "Gesamt" in german["headers"]
    assert (german["total"], german["order_date"], german["status"]) == (f"1.234,56{NBSP}€", "11.03.26, 00:30",
                                                                        "Ausstehend")

    assert choose(page, "pl", "UTC").endswith("Preferencje zostały zapisane.")
    polish = order_list(page, order.id)
    assert (polish["lang"], polish["title"]) == ("pl", "Sprzedaż - Zamówienia - Panel sklepu")
    assert "Klient" in polish["headers"] and "Razem" in polish["headers"]
    assert (polish["total"], polish["order_date"], polish["status"]) == (f"1{NBSP}234,56{NBSP}€", "10.03.2026, 23:30",
                                                                        "Oczekujące")
