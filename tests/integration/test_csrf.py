"""Every state-changing endpoint refuses a POST without a valid CSRF token (400)."""

from __future__ import annotations

from sqlalchemy import func, select

from admin_app.accounts.models import Employee
from admin_app.catalog.models import Product
from admin_app.extensions import db
from admin_app.sales.models import Order
from tests.conftest import AuthActions
from tests.integration.test_permissions import calls_for, model_views, one_record_per_view


def post_endpoints(app, ids):
    for view in model_views(app):
        for call in calls_for(view, ids.get(view.endpoint, 1)):
            if call.method == "POST":
                yield call.url, call.data or {}
    yield "/admin/account/", {"pw-submit_password": "1", "pw-current_password": "x"}
    yield "/admin/account/", {"prefs-submit_preferences": "1", "prefs-page_size": "50"}
    yield "/logout", {}


def test_every_post_without_a_token_is_refused(app, client, admin_user):
    ids = one_record_per_view()
    auth = AuthActions(client)
    assert auth.login("admin1").status_code == 302
    counts_before = [db.session.scalar(select(func.count()).select_from(m)) for m in (Order, Product, Employee)]
    refused = []
    for url, data in post_endpoints(app, ids):
        for token in (None, "forged-token"):
            payload = dict(data) if token is None else {**data, "csrf_token": token}
            response = client.post(url, data=payload)
            if response.status_code != 400:
                refused.append(f"{url} {data} token={token}: {response.status_code}")
    assert not refused, "\n".join(refused)
    db.session.expire_all()
    assert [db.session.scalar(select(func.count()).select_from(m)) for m in (Order, Product, Employee)] == counts_before
    assert client.get("/admin/").status_code == 200  # still signed in: logout was refused too


def test_login_without_a_token_is_refused(client, admin_user):
    response = client.post("/login", data={"username": "admin1", "password": "correct-horse-battery"})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_csrf_failure_page_explains_itself(client, admin_user):
    AuthActions(client).login("admin1")
    response = client.post("/admin/product/new/", data={"name": "x"})
    assert response.status_code == 400
    assert "reload" in response.text.lower()
    assert "Traceback" not in response.text
