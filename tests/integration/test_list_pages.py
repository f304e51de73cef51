"""The lean list page: rows rendered in one pass, row buttons built once per page, the menu
and list URLs kept between requests. What a user sees must stay exactly right."""

from __future__ import annotations

import re

import pytest
from flask import url_for
from sqlalchemy import text

from admin_app.core.views import ShopModelView
from admin_app.extensions import db
from admin_app.sales.models import Order
from tests import factories as f
from tests.conftest import csrf_token_from, login_as
from tests.integration.helpers import gone

ROW = re.compile(r"<tr>(.*?)</tr>", re.S)


def rows_of(html: str) -> list[str]:
    return [row for row in ROW.findall(html) if 'name="rowid"' in row]


def test_every_row_button_and_cell_belongs_to_its_own_record(client, staff_user):
    orders = f.many_orders(3)
    login_as(client, staff_user)
    page = client.get("/admin/order/")
    rows = rows_of(page.text)
    assert len(rows) == 3
    for order, row in zip(sorted(orders, key=lambda o: (o.order_date, o.id), reverse=True), rows, strict=True):
        assert f'value="{order.id}"' in row  # the bulk-action checkbox
        assert f"/admin/order/details/?id={order.id}&amp;" in row
        assert f"/admin/order/edit/?id={order.id}&amp;" in row
        assert f'<input id="id" name="id" type="hidden" value="{order.id}">' in row  # delete
        assert f'<td class="col-id">{order.id}</td>' in row
        assert '<td class="col-status"><span class="badge badge-status badge-secondary">Pending</span></td>' in row
    assert "__row_" not in page.text  # the placeholder for the row id never shows


def test_a_rows_delete_button_deletes_that_record(client, staff_user):
    first, second = f.many_orders(2)
    login_as(client, staff_user)
    page = client.get("/admin/order/")
    row = next(row for row in rows_of(page.text) if f'value="{second.id}"' in row)
    posted_id = re.search(r'name="id" type="hidden" value="(\d+)"', row).group(1)
    response = client.post("/admin/order/delete/", data={"id": posted_id, "url": "/admin/order/",
                                                         "csrf_token": csrf_token_from(page.text)})
    assert response.status_code == 302
    assert gone(Order, second.id) and not gone(Order, first.id)


def test_cells_are_escaped(client, staff_user):
    f.order(f.customer(first_name="<script>alert(1)</script>", last_name="Smith"))
    login_as(client, staff_user)
    page = client.get("/admin/order/").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Smith" in page


def test_an_empty_list_says_so(client, staff_user):
    login_as(client, staff_user)
    page = client.get("/admin/order/")
    assert page.status_code == 200 and "There are no items in the table." in page.text


def test_each_role_gets_its_own_menu(client, app, admin_user, viewer_user):
    # The menu is built once per role and page: an admin's must never reach a viewer.
    login_as(client, admin_user)
    assert 'href="/admin/employee/"' in client.get("/admin/order/").text
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/admin/order/").text)})
    login_as(client, viewer_user)
    page = client.get("/admin/order/").text
    assert 'href="/admin/order/"' in page and 'href="/admin/employee/"' not in page
    assert 'href="/admin/auditlog/"' not in page


def test_list_links_are_the_urls_flask_builds(app, staff_user):
    view = next(v for v in app.extensions["admin"][0]._views if isinstance(v, ShopModelView) and v.endpoint == "order")
    cases = [{}, {"page": 3}, {"sort": 2, "desc": 1, "page_size": 50},
             {"search": "äpfel & co/?=#+%", "flt0_3": "a b", "url": "/admin/order/?page=2&x=1", "page": None}]
    with app.test_request_context("/admin/order/"):
        for arguments in cases:
            assert view.get_url(".index_view", **arguments) == url_for("order.index_view", **arguments)


def test_sort_and_pager_links_lead_to_the_pages_they_name(client, staff_user):
    f.many_orders(25)
    login_as(client, staff_user)
    page = client.get("/admin/order/?page_size=20").text
    next_page = re.search(r'href="(/admin/order/\?page=1[^"]*)"', page).group(1).replace("&amp;", "&")
    assert len(rows_of(client.get(next_page).text)) == 5
    sort_link = re.search(r'href="(/admin/order/\?sort=0[^"]*)"', page).group(1).replace("&amp;", "&")
    ascending = rows_of(client.get(sort_link).text)
    assert len(ascending) == 20 and 'class="col-id">' in ascending[0]


@pytest.mark.parametrize(("rows", "index"), [("IS NULL", "ix_orders_live_order_date"),
                                             ("IS NOT NULL", "ix_orders_deleted_order_date")])
def test_the_order_list_pages_through_a_partial_index_alone(client, staff_user, rows, index):
    """SQLite answers a page's ids, live rows or the "Deleted only" filter's, from a partial
    index in list order, checking nothing per entry (the plan a deep page depends on)."""
    f.many_orders(3)
    if db.engine.dialect.name != "sqlite":
        definition = db.session.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                                        {"name": index})
        assert f"WHERE (deleted_at {rows})" in definition.scalar_one()
        return
    plan = db.session.execute(text(
        f"EXPLAIN QUERY PLAN SELECT orders.id FROM orders WHERE orders.deleted_at {rows} "
        "ORDER BY orders.order_date DESC, orders.id DESC LIMIT 20 OFFSET 40")).all()
    assert [step[-1] for step in plan] == [f"SCAN orders USING COVERING INDEX {index}"]
