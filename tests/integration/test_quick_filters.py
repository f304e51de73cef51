"""Filters people click (issue 22): choice columns filter from their labels, date columns by
period in the employee's time zone, one-click filters above the lists (order status with its
counts), the Live / In the trash / All switch, and the dashboard's figures linking to exactly
the rows they count."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from admin_app.core import quick_filters
from admin_app.core.models import utcnow
from admin_app.core.quick_filters import preset_range
from admin_app.extensions import db
from admin_app.sales.models import Order
from tests import factories as f
from tests.integration.test_list_queries import count_statements

ROW = re.compile(r'name="rowid"[^>]*value="(\d+)"')
GROUP = re.compile(r'role="group" aria-label="([^"]+)">(.*?)</div>', re.S)
LINK = re.compile(r'<a class="btn btn-sm btn-outline-info[^"]*" href="([^"]+)"[^>]*>([^<]+)')


def listed(client, url: str) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200, url
    return {int(i) for i in ROW.findall(response.text)}


def quick_links(page: str, group: str | None = None) -> dict[str, str]:
    """The one-click filters' labels (with counts) and URLs, of one group or all ("All" of the last)."""
    return {html.unescape(label).strip(): html.unescape(url) for name, links in GROUP.findall(page)
            if group in (None, name) for url, label in LINK.findall(links)}


def orders_at(*ages: timedelta, status: str = "pending") -> list[int]:
    product = f.product()
    ids = []
    for age in ages:
        order = f.order(items=[(product, 1, Decimal("3.00"))], order_date=utcnow() - age)
        order.status = status
        ids.append(order.id)
    db.session.commit()
    return ids


def filter_options(client, endpoint: str, group: str) -> list[list[str]] | None:
    """The options of the "equals" filter of ``group`` as "Add filter" offers them."""
    page = client.get(f"/admin/{endpoint}/").text
    data = json.loads(html.unescape(re.search(r'id="filter-groups-data" class="d-none">([^<]+)<', page).group(1)))
    return next(flt["options"] for flt in data[group] if flt["operation"] == "equals")


def test_choice_filters_are_selects_of_labels(client, admin):
    assert filter_options(client, "order", "Status")[:2] == [["pending", "Pending"], ["paid", "Paid"]]
    assert ["staff", "Staff"] in filter_options(client, "employee", "Role")
    assert ["draft", "Draft"] in filter_options(client, "post", "Status")
    assert filter_options(client, "employee", "Active") == [["1", "Yes"], ["0", "No"]]
    assert filter_options(client, "comment", "Approved") == [["1", "Yes"], ["0", "No"]]


def test_one_click_status_filters_with_counts_show_exactly_those_orders(client, admin):
    pending = orders_at(timedelta(hours=1), timedelta(days=3))
    orders_at(timedelta(hours=2), status="cancelled")
    links = quick_links(client.get("/admin/order/").text)
    assert "Pending (2)" in links and "Cancelled (1)" in links and "Shipped (0)" in links, links
    assert listed(client, links["Pending (2)"]) == set(pending)


def test_status_counts_stop_at_the_cap_as_the_lists_count_does(client, admin, monkeypatch):
    monkeypatch.setattr(quick_filters, "COUNT_CAP", 2)
    orders_at(timedelta(hours=1), timedelta(hours=2), timedelta(hours=3))
    cancelled = orders_at(timedelta(hours=1), timedelta(hours=2), timedelta(hours=3), status="cancelled")
    db.session.get(Order, cancelled[0]).soft_delete()
    db.session.commit()
    links = quick_links(client.get("/admin/order/").text, "Status")
    assert {"Pending (2+)", "Cancelled (2)", "Paid (0)"} <= set(links), links  # the trash is not counted
    assert len(listed(client, links["Pending (2+)"])) == 3


def test_date_presets_are_days_of_the_employees_zone(client, admin):
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    with client.application.test_request_context():
        start, end = preset_range("today", now)  # no employee: the shop's zone (UTC in tests)
    assert (start, end) == (datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))
    with client.application.test_request_context():
        assert preset_range("last_month", now) == (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
        assert preset_range("this_month", now)[1] == datetime(2026, 4, 1, tzinfo=UTC)
        assert preset_range("last_7_days", now)[0] == datetime(2026, 3, 4, tzinfo=UTC)


def test_date_preset_links_filter_the_order_list(client, admin):
    today, older = orders_at(timedelta(0)), orders_at(timedelta(days=40))
    links = quick_links(client.get("/admin/order/").text)
    assert listed(client, links["Today"]) == set(today)
    assert listed(client, links["Last 30 days"]) == set(today)
    assert listed(client, quick_links(client.get(links["Today"]).text, "Date")["All"]) == set(today + older)


def test_one_click_filters_combine_and_keep_the_search(client, admin):
    recent = orders_at(timedelta(hours=1))
    orders_at(timedelta(days=40))
    orders_at(timedelta(hours=1), status="cancelled")
    page = client.get("/admin/order/", query_string={"search": "client"}).text
    by_status = quick_links(page)["Pending (2)"]
    assert "search=client" in by_status
    links = quick_links(client.get(by_status).text)
    assert listed(client, links["Last 7 days"]) == set(recent)


def test_other_lists_have_their_one_click_filters(client, admin):
    f.employee(role="staff", is_active=False)
    for endpoint, labels in (("employee", ("Staff", "Admin", "Yes", "No")), ("product", ("Yes", "No")),
                             ("customer", ("Today", "This month", "Last month")), ("comment", ("Yes", "No")),
                             ("post", ("Draft", "Published"))):
        links = quick_links(client.get(f"/admin/{endpoint}/").text)
        assert set(labels) <= set(links), (endpoint, links)


def test_employee_role_and_active_links(client, admin, admin_user):
    idle = f.employee(role="staff", is_active=False)
    links = quick_links(client.get("/admin/employee/").text)
    assert listed(client, links["No"]) == {idle.id}
    assert admin_user.id in listed(client, links["Admin"]) and idle.id not in listed(client, links["Admin"])


def test_product_category_and_in_stock_links(client, admin):
    lamp = f.product(name="Lamp", stock=0, category=f.category(name="Lights"))
    chair = f.product(name="Chair", stock=3, category=f.category(name="Seats"))
    links = quick_links(client.get("/admin/product/").text)
    assert listed(client, links["Yes"]) == {chair.id}
    assert listed(client, links["Lights"]) == {lamp.id}


def test_trash_switch_live_in_the_trash_all(client, admin):
    kept, binned = f.customer(), f.customer()
    binned.deleted_at = utcnow()
    db.session.commit()
    links = quick_links(client.get("/admin/customer/").text, "Show")
    assert listed(client, links["Live"]) == {kept.id}
    assert listed(client, links["In the trash"]) == {binned.id}
    assert listed(client, links["All"]) == {kept.id, binned.id}


def test_order_list_with_one_click_filters_stays_within_its_statements(client, admin):
    orders_at(timedelta(hours=1), timedelta(days=2))
    client.get("/admin/")
    count, page = count_statements(client, "/admin/order/")
    assert "Pending (2)" in quick_links(page)
    assert count <= 4  # the signed-in employee, the rows, the count, the one statement counting by status


def test_dashboard_status_figure_links_to_exactly_the_orders_it_counts(client, admin):
    counted = orders_at(timedelta(days=1), timedelta(days=29))
    orders_at(timedelta(days=31), timedelta(days=90))
    page = client.get("/admin/").text
    link = re.search(r'<a href="([^"]+)"><span class="badge badge-status badge-light">Pending</span></a> (\d+)', page)
    assert link and link.group(2) == "2", page
    assert listed(client, html.unescape(link.group(1))) == set(counted)


def test_dashboard_period_figures_link_to_exactly_the_rows_they_count(client, admin):
    counted = orders_at(timedelta(days=2), timedelta(days=20))
    orders_at(timedelta(days=3), status="cancelled")
    orders_at(timedelta(days=35))
    joined = f.customer()
    earlier = f.customer()
    earlier.created_at = utcnow() - timedelta(days=40)
    db.session.commit()
    page = client.get("/admin/").text
    orders = re.search(r'id="orders-30d"><a href="([^"]+)">(\d+)</a>', page)
    assert orders and orders.group(2) == "2", page
    assert listed(client, html.unescape(orders.group(1))) == set(counted)
    customers = re.search(r'id="new-customers"><a href="([^"]+)">(\d+)</a>', page)
    in_period = listed(client, html.unescape(customers.group(1)))
    assert len(in_period) == int(customers.group(2)) and joined.id in in_period and earlier.id not in in_period



def add_filter_menu(page: str) -> list[str]:
    """The entries of the list's "Add filter" menu, and the filter groups its script offers."""
    menu = re.search(r'<div class="dropdown-menu field-filters">(.*?)</div>', page, re.S)
    entry = re.compile(r'class="dropdown-item filter"[^>]*>([^<]+)<')
    entries = [html.unescape(e).strip() for e in entry.findall(menu.group(1))]
    data = re.search(r'id="filter-groups-data" class="d-none">([^<]+)<', page)
    return entries + list(json.loads(html.unescape(data.group(1))) if data else ())


def test_the_switch_is_the_one_way_into_the_trash(client, admin):
    live, binned = f.customer(last_name="Kept"), f.customer(last_name="Binned")
    binned.deleted_at = utcnow()
    db.session.commit()
    page = client.get("/admin/customer/").text
    assert listed(client, "/admin/customer/") == {live.id}
    menu = add_filter_menu(page)
    assert "Created" in menu and "Deleted" not in menu, menu
    trash_url = quick_links(page, "Show")["In the trash"]
    assert listed(client, trash_url) == {binned.id}
    # With another filter beside the switch: the menu still leaves Deleted out, the filter
    # form's rows (its script's data) hold the other filter only, and the form and the
    # Reset link keep the switch.
    both = client.get(quick_links(client.get(trash_url).text, "Created")["This month"]).text
    assert {int(i) for i in ROW.findall(both)} == {binned.id}
    assert "Deleted" not in add_filter_menu(both)
    active = json.loads(html.unescape(re.search(r'id="active-filters-data" class="d-none">([^<]+)<', both).group(1)))
    assert [name for _index, name, _value in active] == ["Created"], active
    kept_switch = re.search(r'<input type="hidden" name="(flt\d+_\w+)" value="only">', both)
    assert kept_switch, "the filter form does not resend the switch"
    assert listed(client, f"/admin/customer/?{kept_switch.group(1)}=only") == {binned.id}
    reset = re.search(r'<a href="([^"]+)" class="btn btn-secondary">Reset Filters</a>', both)
    assert listed(client, html.unescape(reset.group(1))) == {binned.id}
