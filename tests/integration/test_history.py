"""Change history in the back office, and protection against lost updates."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from admin_app.audit.models import AuditLog
from admin_app.catalog.models import Product
from admin_app.extensions import db
from admin_app.sales.models import Order, OrderItem
from tests import factories as f
from tests.conftest import login_as, read_form
from tests.integration.helpers import two_staff


def entries(record, action=None):
    query = select(AuditLog).where(AuditLog.entity_type == type(record).__name__,
                                   AuditLog.entity_id == str(record.id))
    if action:
        query = query.where(AuditLog.action == action)
    return db.session.scalars(query.order_by(AuditLog.id)).all()


def test_a_save_records_who_changed_what(client, staff_user):
    product = f.product(name="Desk lamp", price=Decimal("10.00"))
    auth = login_as(client, staff_user)
    form = read_form(client.get(f"/admin/product/edit/?id={product.id}").text)
    response = auth.post(f"/admin/product/edit/?id={product.id}", {**form, "price": "12.50"})
    assert response.status_code == 302
    updates = entries(product, "update")
    assert len(updates) == 1
    assert updates[0].actor_label == "staff1" and updates[0].changes == {"price": ["10.00", "12.50"]}


def test_lost_update_on_an_order_is_refused(app):
    order = f.order(shipping_fee=Decimal("1.00"), notes="original")
    anna, bert = two_staff(app)
    url = f"/admin/order/edit/?id={order.id}"
    anna_form = read_form(anna.client.get(url).text)
    bert_form = read_form(bert.client.get(url).text)
    assert anna.post(url, {**anna_form, "shipping_fee": "4.95"}).status_code == 302
    refused = bert.post(url, {**bert_form, "notes": "bert's note"})
    assert refused.status_code == 200
    assert "was changed by anna at" in refused.text and "since you opened it" in refused.text
    # The form shows the current values, so Bert can redo his change.
    shown = read_form(refused.text)
    assert shown["shipping_fee"] == "4.95" and shown["notes"] == "original"
    db.session.expire_all()
    saved = db.session.get(Order, order.id)
    assert (saved.shipping_fee, saved.notes) == (Decimal("4.95"), "original")
    assert len(entries(order, "update")) == 1
    # Redoing it on the fresh form works.
    assert bert.post(url, {**shown, "notes": "bert's note"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Order, order.id).notes == "bert's note"


def test_lost_update_on_inline_order_items_is_refused(app):
    lamp = f.product(name="Lamp", price=Decimal("10.00"))
    order = f.order(items=[(lamp, 1, Decimal("10.00"))])
    anna, bert = two_staff(app)
    url = f"/admin/order/edit/?id={order.id}"
    anna_form = read_form(anna.client.get(url).text)
    bert_form = read_form(bert.client.get(url).text)
    assert anna.post(url, {**anna_form, "items-0-quantity": "3"}).status_code == 302
    refused = bert.post(url, {**bert_form, "items-0-quantity": "7"})
    assert "since you opened it" in refused.text
    db.session.expire_all()
    assert [i.quantity for i in db.session.get(Order, order.id).items] == [3]
    item = db.session.scalars(select(OrderItem)).one()
    assert len(entries(item, "update")) == 1


def test_history_pages_are_for_admins_and_read_only(client, admin_user, staff_user):
    product = f.product(name="<script>alert(1)</script>")
    product.price = Decimal("11.00")
    db.session.commit()
    auth = login_as(client, admin_user)
    edit = client.get(f"/admin/product/edit/?id={product.id}").text
    assert 'id="history-link"' in edit
    history = client.get(f"/admin/auditlog/record/Product/{product.id}/")
    assert history.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in history.text and "<script>alert(1)" not in history.text
    assert "10.00" in history.text and "11.00" in history.text
    listing = client.get("/admin/auditlog/")
    assert listing.status_code == 200 and "/admin/auditlog/new/" not in listing.text
    for method, url in (("get", "/admin/auditlog/new/"), ("get", "/admin/auditlog/edit/?id=1")):
        assert getattr(client, method)(url).status_code == 403
    assert auth.post("/admin/auditlog/delete/", {"id": "1"}).status_code == 403
    export = client.get("/admin/auditlog/export/csv/").get_data(as_text=True)
    assert "Product" in export
    auth.logout()
    login_as(client, staff_user)
    assert 'id="history-link"' not in client.get(f"/admin/product/edit/?id={product.id}").text
    assert client.get(f"/admin/auditlog/record/Product/{product.id}/").status_code == 403


def test_secrets_never_reach_the_history_or_its_export(client, admin_user, staff_user):
    auth = login_as(client, admin_user)
    form = read_form(client.get(f"/admin/employee/edit/?id={staff_user.id}").text)
    auth.post(f"/admin/employee/edit/?id={staff_user.id}", {**form, "new_password": "another long password"})
    db.session.expire_all()
    hashes = [e.password_hash for e in (staff_user, admin_user)]
    export = client.get("/admin/auditlog/export/csv/").get_data(as_text=True)
    listing = client.get("/admin/auditlog/?page_size=100").text
    for text in (export, listing):
        assert "scrypt:" not in text and not any(h in text for h in hashes)
        assert "another long password" not in text
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(export.lstrip("\ufeff"))))
    assert any('"password_hash": "changed"' in row["Changes"] and row["Action"] == "update" for row in rows)


def test_bulk_status_actions_record_one_entry_per_order(client, staff_user):
    orders = [f.order() for _ in range(3)]
    auth = login_as(client, staff_user)
    auth.post("/admin/order/action/", {"action": "mark_paid", "rowid": [str(o.id) for o in orders]})
    for order in orders:
        updates = entries(order, "update") + [e for e in entries(order) if e.action.startswith("status")]
        assert len(updates) == 1 and updates[0].changes == {"status": ["pending", "paid"]}


def test_restore_and_soft_delete_are_recorded(client, staff_user):
    product = f.product(name="Lamp")
    auth = login_as(client, staff_user)
    auth.post("/admin/product/delete/", {"id": str(product.id)})
    auth.post("/admin/product/action/", {"action": "restore", "rowid": str(product.id)})
    assert [e.action for e in entries(product)] == ["create", "soft_delete", "restore"]
    assert all(e.actor_label == "staff1" for e in entries(product)[1:])
    assert db.session.get(Product, product.id).deleted_at is None


def test_a_status_moved_while_the_form_was_open_is_reported_as_such(app):
    order = f.order(status="pending")
    anna, bert = two_staff(app)
    url = f"/admin/order/edit/?id={order.id}"
    bert_form = read_form(bert.client.get(url).text)
    anna.post("/admin/order/action/", {"action": "mark_paid", "rowid": str(order.id)})
    refused = bert.post(url, {**bert_form, "notes": "late"})
    assert "since you opened it" in refused.text and "can only be set to" not in refused.text
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "paid"


def test_a_bulk_action_that_loses_a_race_is_reported_not_a_500(client, staff_user, monkeypatch):
    from sqlalchemy.orm.exc import StaleDataError

    import admin_app.sales.views as sales

    order = f.order(status="pending")

    def racing(ids, target):
        raise StaleDataError("UPDATE statement on table 'orders' expected to update 1 row(s); 0 were matched.")

    monkeypatch.setattr(sales, "move_order_ids", racing)
    auth = login_as(client, staff_user)
    response = auth.post("/admin/order/action/", {"action": "mark_paid", "rowid": str(order.id)},
                         follow_redirects=True)
    assert response.status_code == 200
    assert "changed by someone else at the same moment" in response.text
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "pending"
