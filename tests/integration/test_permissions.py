"""The permission matrix: every registered admin URL and action, for every role.

Generated from the registered views, so a view added later without an entry in
``EXPECTED`` fails here instead of being forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask_admin.contrib.sqla import ModelView

from tests import factories as f
from tests.conftest import PASSWORD, AuthActions, csrf_token_from

EVERYONE = ("viewer", "staff", "admin")
STAFF = ("staff", "admin")
ADMIN = ("admin",)
NOBODY: tuple[str, ...] = ()

# endpoint: (may read, may create/edit, may delete)
EXPECTED = {
    "order": (EVERYONE, STAFF, STAFF),
    "orderitem": (EVERYONE, STAFF, STAFF),
    "cartitem": (EVERYONE, STAFF, STAFF),
    "product": (EVERYONE, STAFF, STAFF),
    "category": (EVERYONE, STAFF, STAFF),
    "customer": (EVERYONE, STAFF, STAFF),
    "address": (EVERYONE, STAFF, STAFF),
    "post": (EVERYONE, STAFF, STAFF),
    "comment": (EVERYONE, STAFF, STAFF),
    "tag": (EVERYONE, STAFF, STAFF),
    "employee": (ADMIN, ADMIN, NOBODY),
    "auditlog": (ADMIN, NOBODY, NOBODY),
}
# Actions that need more than the view's write permission.
ACTION_ROLES = {"purge": ADMIN, "anonymise": ADMIN}


@dataclass
class Call:
    method: str
    url: str
    needs: tuple[str, ...]
    data: dict | None = None


def model_views(app) -> list[ModelView]:
    return [v for v in app.extensions["admin"][0]._views if isinstance(v, ModelView)]


def one_record_per_view() -> dict[str, int]:
    customer = f.customer()
    address = f.address(customer)
    category = f.category()
    product = f.product(category=category)
    order = f.order(customer, items=[(product, 1, product.price)])
    from admin_app.extensions import db
    from admin_app.sales.models import CartItem

    cart_item = CartItem(user=customer, product=product, quantity=1)
    db.session.add(cart_item)
    db.session.commit()
    post = f.post(tags=[f.tag()])
    comment = f.comment(post)
    employee = f.employee(role="viewer")
    ids = {"order": order.id, "orderitem": order.items[0].id, "cartitem": cart_item.id, "product": product.id,
           "category": category.id, "customer": customer.id, "address": address.id, "post": post.id,
           "comment": comment.id, "tag": post.tags[0].id, "employee": employee.id}
    try:
        from admin_app.audit.models import AuditLog

        ids["auditlog"] = db.session.query(AuditLog.id).order_by(AuditLog.id).limit(1).scalar() or 1
    except ImportError:
        pass
    return ids


def calls_for(view: ModelView, record_id: int) -> list[Call]:
    read, write, delete = EXPECTED[view.endpoint]
    base = f"/admin/{view.endpoint}"
    calls = [
        Call("GET", f"{base}/", read),
        Call("GET", f"{base}/details/?id={record_id}", read),
        Call("GET", f"{base}/new/", write),
        Call("POST", f"{base}/new/", write, {}),
        Call("GET", f"{base}/edit/?id={record_id}", write),
        Call("POST", f"{base}/edit/?id={record_id}", write, {}),
        Call("POST", f"{base}/delete/", delete, {"id": str(record_id)}),
    ]
    for export_type in view.export_types:
        calls.append(Call("GET", f"{base}/export/{export_type}/", read))
    for field in (view.form_ajax_refs or {}):
        # Look-ups fill the forms' pick lists: only those who may use the forms may ask.
        calls.append(Call("GET", f"{base}/ajax/lookup/?name={field}&query=a", write))
    for name, _label in view._actions:
        needs = ACTION_ROLES.get(name) or (delete if name == "delete" else write)
        calls.append(Call("POST", f"{base}/action/", tuple(r for r in needs if r in write or name == "delete"),
                          {"action": name, "rowid": str(record_id)}))
        if name == "purge":  # the confirmation page and the purge itself
            calls.append(Call("GET", f"{base}/purge/?id={record_id}", tuple(r for r in needs if r in write)))
            calls.append(Call("POST", f"{base}/purge/", tuple(r for r in needs if r in write), {"id": str(record_id)}))
    return calls


def expected_status(call: Call, role: str | None) -> set[int]:
    if role is None:
        return {302}
    if role not in call.needs:
        return {403}
    return {200, 302}


def test_every_registered_view_has_an_expectation(app):
    endpoints = {v.endpoint for v in model_views(app)}
    assert endpoints <= set(EXPECTED), f"views without an entry in EXPECTED: {endpoints - set(EXPECTED)}"
    assert {"order", "product", "customer", "employee"} <= endpoints


@pytest.mark.parametrize("role", [None, "viewer", "staff", "admin"])
def test_permission_matrix(app, client, role):
    from admin_app.accounts.services import create_employee

    ids = one_record_per_view()
    auth = AuthActions(client)
    if role is None:
        # A valid token, so it is the sign-in check (not CSRF) that refuses the POSTs.
        token = csrf_token_from(client.get("/login").text)
    else:
        create_employee(f"{role}-matrix", f"{role}-matrix@shop.example", PASSWORD, role)
        assert auth.login(f"{role}-matrix").status_code == 302
        token = auth.token()
    failures = []
    for view in model_views(app):
        for call in calls_for(view, ids.get(view.endpoint, 1)):
            if call.method == "GET":
                response = client.get(call.url)
            else:
                response = client.post(call.url, data={**(call.data or {}), "csrf_token": token})
            allowed = expected_status(call, role)
            status = response.status_code
            if status not in allowed:
                failures.append(f"{role} {call.method} {call.url} {call.data or ''}: {status}, expected {allowed}")
            elif role is None:
                if not response.headers.get("Location", "").startswith("/login?next="):
                    failures.append(f"anonymous {call.method} {call.url} went to {response.headers.get('Location')}")
            elif status == 302 and "/login" in response.headers.get("Location", ""):
                failures.append(f"{role} {call.method} {call.url} was sent to the login page")
    assert not failures, "\n".join(failures)


def test_menu_shows_only_what_the_role_may_use(client, viewer_user, admin_user):
    auth = AuthActions(client)
    auth.login("viewer1")
    page = client.get("/admin/product/").text
    assert "/admin/employee/" not in page
    assert "/admin/product/new/" not in page and "/admin/product/edit/" not in page
    assert "/admin/product/delete/" not in page
    auth.logout()
    auth.login("admin1")
    page = client.get("/admin/product/").text
    assert "/admin/employee/" in page and "/admin/product/new/" in page


def test_no_redirect_loop_for_a_signed_in_employee_without_the_role(client, staff_user):
    AuthActions(client).login("staff1")
    response = client.get("/admin/employee/")
    assert response.status_code == 403
    assert "permission" in response.text
