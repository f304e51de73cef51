"""Staff in their own language, time zone and number format (issue 19), through the real URLs.

Amounts come out as Babel writes them for the locale, with CLDR's spaces: German puts a
no-break space (U+00A0) between the amount and the € sign.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook

from admin_app.catalog.models import Product
from admin_app.core import adapter
from admin_app.extensions import db
from admin_app.sales.models import Order
from tests import factories as f
from tests.conftest import csrf_token_from, login_as
from tests.integration.helpers import submit

NBSP = "\u00a0"


def prefer(employee: Any, **preferences: str) -> None:
    """The employee's choices on My account, as they are stored."""
    employee.preferences.update(preferences)
    db.session.commit()


def text(page: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", page))


def big_order() -> Order:
    """An order whose total is 1,234.56: one item of 1,224.56 plus the 10.00 shipping fee."""
    product = f.product(name="Walnut desk", price=Decimal("1224.56"), stock=10)
    return f.order(items=[(product, 1, Decimal("1224.56"))], shipping_fee=Decimal("10.00"))


def test_a_german_employee_sees_german_labels_and_german_money(client, staff, staff_user):
    big_order()
    prefer(staff_user, language="de")
    page = client.get("/admin/order/")
    assert page.status_code == 200
    assert '<html lang="de">' in page.text
    shown = text(page.text)
    for label in ("Bestellungen", "Kunde", "Zwischensumme", "Versand", "Gesamt", "Verkauf", "Katalog"):
        assert label in shown, label
    assert f"1.234,56{NBSP}€" in shown
    # Flask-Admin's own strings come from its German catalogue.
    assert "Liste" in shown and "Filter hinzufügen" in shown and "Mit Auswahl" in shown


def test_a_polish_employee_sees_polish(client, staff, staff_user):
    big_order()
    prefer(staff_user, language="pl")
    shown = text(client.get("/admin/order/").text)
    for label in ("Zamówienia", "Klient", "Suma częściowa", "Wysyłka", "Razem", "Sprzedaż"):
        assert label in shown, label
    assert f"1{NBSP}234,56{NBSP}€" in shown
    assert "Oczekujące" in shown  # the pending status badge


def test_without_a_choice_the_browser_language_is_used_then_english(client, staff):
    assert '<html lang="fr">' in client.get("/admin/order/", headers={"Accept-Language": "fr-CH, de;q=0.5"}).text
    assert "Commandes" in text(client.get("/admin/order/", headers={"Accept-Language": "fr"}).text)
    english = client.get("/admin/order/", headers={"Accept-Language": "ja, zh;q=0.8"})
    assert '<html lang="en">' in english.text and "Orders" in text(english.text)


def test_the_sign_in_page_follows_the_browser(client):
    page = client.get("/login", headers={"Accept-Language": "pl"})
    assert '<html lang="pl">' in page.text
    assert "Nazwa użytkownika lub e-mail" in text(page.text) and "Zaloguj się" in text(page.text)


def test_an_employees_choice_wins_over_the_browser(client, staff, staff_user):
    prefer(staff_user, language="de")
    page = client.get("/admin/order/", headers={"Accept-Language": "fr"})
    assert '<html lang="de">' in page.text


def test_language_and_time_zone_are_chosen_on_my_account(client, staff, staff_user):
    page = client.get("/admin/account/")
    response = client.post("/admin/account/", data={
        "csrf_token": csrf_token_from(page.text), "prefs-submit_preferences": "1", "prefs-page_size": "50",
        "prefs-theme": "light", "prefs-language": "fr", "prefs-timezone": "Europe/Paris"})
    assert response.status_code == 302
    db.session.refresh(staff_user)
    assert (staff_user.preferences["language"], staff_user.preferences["timezone"]) == ("fr", "Europe/Paris")
    after = client.get("/admin/account/")
    assert "Vos préférences ont été enregistrées." in text(after.text)  # said in the language just chosen
    refused = client.post("/admin/account/", data={
        "csrf_token": csrf_token_from(after.text), "prefs-submit_preferences": "1", "prefs-page_size": "50",
        "prefs-theme": "light", "prefs-language": "xx", "prefs-timezone": "Mars/Olympus"})
    assert refused.status_code == 400
    db.session.refresh(staff_user)
    assert staff_user.preferences["timezone"] == "Europe/Paris"


def test_a_time_near_midnight_utc_is_shown_on_the_right_day_in_warsaw(client, staff, staff_user):
    order = f.order(order_date=datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    prefer(staff_user, language="de", timezone="Europe/Warsaw")
    shown = text(client.get("/admin/order/").text)
    assert "11.03.26, 00:30" in shown and "10.03.26" not in shown
    prefer(staff_user, timezone="UTC")
    assert "10.03.26, 23:30" in text(client.get(f"/admin/order/details/?id={order.id}").text)


def test_the_shop_time_zone_is_the_default(client, staff, staff_user, extra_app):
    f.order(order_date=datetime(2026, 7, 1, 22, 15, tzinfo=UTC))
    other = extra_app(SHOP_TIMEZONE="Asia/Tokyo").test_client()
    login_as(other, staff_user)
    assert re.search(r"7/2/26, 7:15\sAM", text(other.get("/admin/order/").text))
    assert re.search(r"7/1/26, 10:15\sPM", text(client.get("/admin/order/").text))  # the suite's shop: UTC


def test_a_german_decimal_comma_is_accepted_in_a_price(client, staff, staff_user):
    prefer(staff_user, language="de")
    response = submit(client, "/admin/product/new/", {"name": "Lampe", "sku": "L-1", "price": "12,50",
                                                      "stock": "3", "description": ""})
    assert response.status_code == 302, text(response.text)
    product = db.session.query(Product).filter_by(sku="L-1").one()
    assert product.price == Decimal("12.50")
    edit = client.get(f"/admin/product/edit/?id={product.id}").text
    assert re.search(r'name="price"[^>]*value="12,50"', edit) or re.search(r'value="12,50"[^>]*name="price"', edit)


@pytest.mark.parametrize(("language", "typed", "stored"), [
    ("de", "1.234,5", Decimal("1234.50")), ("de", "12.50", Decimal("12.50")), ("fr", "7,25", Decimal("7.25")),
    ("pl", "0,99", Decimal("0.99")), ("en", "1,234.56", Decimal("1234.56")), ("en", "19.99", Decimal("19.99")),
])
def test_amounts_are_read_as_the_language_writes_them(client, staff, staff_user, language, typed, stored):
    prefer(staff_user, language=language)
    response = submit(client, "/admin/product/new/", {"name": "Item", "sku": "I-1", "price": typed, "stock": "1",
                                                      "description": ""})
    assert response.status_code == 302, text(response.text)
    assert db.session.query(Product).filter_by(sku="I-1").one().price == stored


def test_a_malformed_amount_is_refused_on_the_field_in_the_language(client, staff, staff_user):
    prefer(staff_user, language="de")
    response = submit(client, "/admin/product/new/", {"name": "Item", "sku": "I-2", "price": "12,5,0", "stock": "1",
                                                      "description": ""})
    assert response.status_code == 200
    assert "Keine gültige Dezimalzahl." in text(response.text)
    assert db.session.query(Product).filter_by(sku="I-2").first() is None


def order_date_filter(app: Any, operation: str) -> str:
    admin = app.extensions["admin"][0]
    view = next(v for v in adapter.registered_views(admin) if getattr(v, "endpoint", "") == "order")
    for index, flt in enumerate(adapter.active_filters(view)):
        if getattr(flt.column, "key", None) == "order_date" and str(flt.operation()) == operation:
            return f"flt0_{view.get_filter_arg(index, flt)}"
    raise AssertionError(f"no order date filter {operation!r}")


def test_a_date_filter_reads_the_typed_time_in_the_employees_zone(app, client, staff, staff_user):
    late = f.order(order_date=datetime(2026, 3, 10, 23, 30, tzinfo=UTC))  # 11 March 00:30 in Warsaw
    early = f.order(order_date=datetime(2026, 3, 10, 22, 30, tzinfo=UTC))  # 10 March 23:30 in Warsaw
    prefer(staff_user, timezone="Europe/Warsaw")
    after = order_date_filter(app, "greater than")
    assert listed(client, f"/admin/order/?{after}=2026-03-11+00:00:00") == {late.id}
    assert listed(client, f"/admin/order/?{after}=2026-03-10+23:00:00") == {late.id, early.id}
    prefer(staff_user, timezone="UTC")
    assert listed(client, f"/admin/order/?{after}=2026-03-11+00:00:00") == set()
    assert listed(client, f"/admin/order/?{after}=2026-03-10+23:00:00") == {late.id}


def listed(client: Any, url: str) -> set[int]:
    page = client.get(url)
    assert page.status_code == 200
    return {int(i) for i in re.findall(r'class="action-checkbox" value="(\d+)"', page.text)}


def csv_of(client: Any) -> bytes:
    response = client.get("/admin/order/export/csv/")
    assert response.status_code == 200
    return response.data


def test_the_csv_body_is_byte_identical_in_english_and_german(client, staff, staff_user):
    big_order()
    f.order(order_date=datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    prefer(staff_user, language="en", timezone="UTC")
    english = csv_of(client)
    prefer(staff_user, language="de", timezone="Europe/Warsaw")
    german = csv_of(client)
    english_header, english_body = english.split(b"\r\n", 1)
    german_header, german_body = german.split(b"\r\n", 1)
    assert english_body == german_body
    assert b"1234.56" in german_body and b"2026-03-10T23:30:00+00:00" in german_body
    assert english_header.decode("utf-8-sig").startswith("ID,Order date (UTC),Status,Customer")
    assert german_header.decode("utf-8-sig").startswith("ID,Bestelldatum (UTC),Status,Kunde")


def test_the_xlsx_header_follows_the_language_and_cells_stay_typed(client, staff, staff_user):
    big_order()
    prefer(staff_user, language="fr")
    sheet = load_workbook(BytesIO(client.get("/admin/order/export/xlsx/").data)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Identifiant", "Date de commande (UTC)", "Statut", "Client"]
    total = sheet.cell(row=2, column=header.index("Total") + 1).value
    assert total == 1234.56
