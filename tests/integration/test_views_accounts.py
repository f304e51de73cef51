"""People views through their real URLs: customers (with addresses inline), addresses and
employees; uniqueness ignoring case, and a uniqueness race turned into a message."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from admin_app.accounts.models import Address, Customer, Employee, User
from admin_app.extensions import db
from admin_app.sales.models import Order
from tests import factories as f
from tests.conftest import AuthActions, login_as
from tests.integration.helpers import assert_no_raw_sql, delete, gone, submit


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


CUSTOMER = {"username": "ada", "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
            "loyalty_points": "10"}
ADDRESS = {"street": "Main St 1", "city": "Berlin", "state": "", "zip_code": "10115", "country": "Germany"}


# -- customers ----------------------------------------------------------------------------


def test_create_edit_delete_customer(client, staff):
    response = submit(client, "/admin/customer/new/", {
        **CUSTOMER, "email": "Ada@Example.com",
        **{f"addresses-0-{k}": v for k, v in ADDRESS.items()}, "addresses-0-is_default": "y",
    })
    assert response.status_code == 302, response.text
    ada = db.session.scalars(select(Customer).where(Customer.username == "ada")).one()
    assert (ada.email, ada.full_name, ada.loyalty_points) == ("ada@example.com", "Ada Lovelace", 10)
    assert [(a.street, a.state, a.is_default) for a in ada.addresses] == [("Main St 1", "", True)]
    assert "Ada Lovelace" in client.get("/admin/customer/").text

    response = submit(client, f"/admin/customer/edit/?id={ada.id}", {
        **CUSTOMER, "first_name": "Augusta", "loyalty_points": "",
        "addresses-0-id": str(ada.addresses[0].id), **{f"addresses-0-{k}": v for k, v in ADDRESS.items()},
    })
    assert response.status_code == 302, response.text
    db.session.expire_all()
    ada = db.session.get(Customer, ada.id)
    assert ada.full_name == "Augusta Lovelace"
    assert len(ada.addresses) == 1

    assert delete(client, "customer", ada.id).status_code == 302
    assert gone(Customer, ada.id)
    assert "Augusta" not in client.get("/admin/customer/").text


@pytest.mark.parametrize("email", ["not-an-email", "ada@", "@example.com", "ada example.com"])
def test_bad_email_is_refused(client, staff, email):
    response = submit(client, "/admin/customer/new/", {**CUSTOMER, "email": email})
    assert response.status_code == 200
    assert "Enter a valid email address." in response.text
    assert user_count() == 1  # only the signed-in employee


@pytest.mark.parametrize("field, value, message", [
    ("username", "ADA", "This username is already taken."),
    ("email", "ADA@EXAMPLE.COM", "This email is already taken."),
])
def test_duplicate_username_or_email_differing_in_case(client, staff, field, value, message):
    f.customer(username="ada", email="ada@example.com")
    other = {**CUSTOMER, "username": "someone", "email": "someone@example.com", field: value}
    response = submit(client, "/admin/customer/new/", other)
    assert response.status_code == 200
    assert message in response.text
    assert_no_raw_sql(response.text)
    assert user_count() == 2


def test_customer_may_keep_own_username_in_another_case(client, staff):
    ada = f.customer(username="ada", email="ada@example.com")
    response = submit(client, f"/admin/customer/edit/?id={ada.id}", {**CUSTOMER, "username": "Ada"})
    assert response.status_code == 302, response.text
    db.session.expire_all()
    assert db.session.get(Customer, ada.id).username == "Ada"


def test_customer_cannot_take_an_employees_email(client, staff):
    response = submit(client, "/admin/customer/new/", {**CUSTOMER, "email": "STAFF1@shop.example"})
    assert response.status_code == 200
    assert "This email is already taken." in response.text
    assert user_count() == 1


def test_negative_loyalty_points_refused(client, staff):
    response = submit(client, "/admin/customer/new/", {**CUSTOMER, "loyalty_points": "-1"})
    assert response.status_code == 200
    assert "Enter a whole number from 0 to 10,000,000." in response.text
    assert user_count() == 1


# -- inline addresses ---------------------------------------------------------------------


def test_addresses_added_changed_and_removed_in_one_save(client, staff):
    ada = f.customer(username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace")
    keep = f.address(ada, street="Keep St 1")
    drop = f.address(ada, street="Drop St 2")
    keep_id, drop_id = keep.id, drop.id
    form = client.get(f"/admin/customer/edit/?id={ada.id}").text
    # The remove checkbox Flask-Admin renders for an existing inline row.
    assert 'name="del-addresses-1"' in form and 'name="addresses-1-id"' in form

    response = submit(client, f"/admin/customer/edit/?id={ada.id}", {
        **CUSTOMER,
        "addresses-0-id": str(keep_id), **{f"addresses-0-{k}": v for k, v in ADDRESS.items()},
        "addresses-0-street": "Changed St 10", "addresses-0-is_default": "y",
        "addresses-1-id": str(drop_id), **{f"addresses-1-{k}": v for k, v in ADDRESS.items()},
        "del-addresses-1": "on",
        **{f"addresses-2-{k}": v for k, v in ADDRESS.items()}, "addresses-2-street": "New St 3",
        "addresses-2-city": "Hamburg",
    })
    assert response.status_code == 302, response.text
    db.session.expire_all()
    rows = db.session.scalars(select(Address).where(Address.user_id == ada.id).order_by(Address.id)).all()
    assert [(a.id, a.street, a.city, a.is_default) for a in rows] == [
        (keep_id, "Changed St 10", "Berlin", True), (rows[1].id, "New St 3", "Hamburg", False)]
    assert db.session.get(Address, drop_id) is None


def test_bad_inline_address_keeps_everything_as_typed(client, staff):
    ada = f.customer(username="ada", email="ada@example.com")
    home = f.address(ada, street="Home St 1")
    response = submit(client, f"/admin/customer/edit/?id={ada.id}", {
        **CUSTOMER, "first_name": "Typed first name",
        "addresses-0-id": str(home.id), **{f"addresses-0-{k}": v for k, v in ADDRESS.items()},
        "addresses-0-street": "Typed St 5",
        **{f"addresses-1-{k}": v for k, v in ADDRESS.items()}, "addresses-1-zip_code": "12345678901",
    })
    assert response.status_code == 200
    assert "Field cannot be longer than 10 characters." in response.text
    assert "Typed St 5" in response.text and "Typed first name" in response.text
    db.session.expire_all()
    assert db.session.get(Address, home.id).street == "Home St 1"
    assert db.session.scalar(select(func.count()).select_from(Address)) == 1


def test_removing_an_address_used_by_an_order_says_why(client, staff):
    ada = f.customer(username="ada", email="ada@example.com")
    home = f.address(ada, street="Home St 1")
    f.order(ada)
    response = submit(client, f"/admin/customer/edit/?id={ada.id}", {
        **CUSTOMER, "addresses-0-id": str(home.id), **{f"addresses-0-{k}": v for k, v in ADDRESS.items()},
        "del-addresses-0": "on",
    })
    assert response.status_code == 200
    assert "used by 1 order" in response.text
    assert_no_raw_sql(response.text)
    db.session.expire_all()
    assert db.session.get(Address, home.id) is not None


# -- addresses ----------------------------------------------------------------------------


def test_create_edit_delete_address(client, staff):
    ada = f.customer(username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace")
    response = submit(client, "/admin/address/new/", {"user": str(ada.id), **ADDRESS, "is_default": "y"})
    assert response.status_code == 302, response.text
    home = db.session.scalars(select(Address)).one()
    assert (home.user_id, home.street, home.state, home.is_default) == (ada.id, "Main St 1", "", True)
    listing = client.get("/admin/address/").text
    assert "Main St 1" in listing and "Ada Lovelace" in listing

    response = submit(client, f"/admin/address/edit/?id={home.id}",
                      {"user": str(ada.id), **ADDRESS, "city": "Potsdam", "state": "BB"})
    assert response.status_code == 302, response.text
    db.session.expire_all()
    home = db.session.get(Address, home.id)
    assert (home.city, home.state, home.is_default) == ("Potsdam", "BB", False)

    assert delete(client, "address", home.id).status_code == 302
    assert gone(Address, home.id)


def test_address_needs_a_customer_and_fields(client, staff):
    response = submit(client, "/admin/address/new/", {"user": "", **ADDRESS, "city": ""})
    assert response.status_code == 200
    assert response.text.count("This field is required.") >= 2
    assert db.session.scalar(select(func.count()).select_from(Address)) == 0


def test_address_used_by_an_order_is_not_deleted_and_says_why(client, staff):
    order = f.order()
    response = delete(client, "address", order.address_id)
    assert response.status_code == 302
    page = client.get("/admin/address/").text
    assert "used by 1 order" in page
    assert_no_raw_sql(page)
    db.session.expire_all()
    assert db.session.get(Address, order.address_id) is not None
    assert db.session.get(Order, order.id).address_id is not None


# -- employees ----------------------------------------------------------------------------


EMPLOYEE = {"username": "bob", "email": "bob@shop.example", "first_name": "Bob", "last_name": "Builder",
            "role": "staff", "is_active": "y", "department": "Sales", "new_password": "a-long-enough-secret-9"}


def test_create_and_edit_employee(app, client, admin):
    response = submit(client, "/admin/employee/new/", EMPLOYEE)
    assert response.status_code == 302, response.text
    bob = db.session.scalars(select(Employee).where(Employee.username == "bob")).one()
    assert (bob.role, bob.is_active, bob.department) == ("staff", True, "Sales")
    assert bob.check_password("a-long-enough-secret-9")
    listing = client.get("/admin/employee/").text
    assert "Bob Builder" in listing and "a-long-enough-secret-9" not in listing
    assert "pbkdf2" not in listing and "scrypt" not in listing

    old_hash = bob.password_hash
    response = submit(client, f"/admin/employee/edit/?id={bob.id}",
                      {**EMPLOYEE, "role": "viewer", "department": "Support", "new_password": ""})
    assert response.status_code == 302, response.text
    db.session.expire_all()
    bob = db.session.get(Employee, bob.id)
    assert (bob.role, bob.department, bob.password_hash) == ("viewer", "Support", old_hash)

    # The new employee can sign in with the password the admin set.
    other = app.test_client()
    assert AuthActions(other).login("bob", "a-long-enough-secret-9").status_code == 302


def test_employees_cannot_be_deleted(client, admin):
    bob = f.employee(username="bob")
    assert 'action="/admin/employee/delete/"' not in client.get("/admin/employee/").text
    response = delete(client, "employee", bob.id)
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Employee, bob.id) is not None


def test_employee_needs_an_initial_password(client, admin):
    response = submit(client, "/admin/employee/new/", {**EMPLOYEE, "new_password": ""})
    assert response.status_code == 200
    assert "Set an initial password." in response.text
    assert db.session.scalar(select(func.count()).select_from(Employee)) == 1


@pytest.mark.parametrize("field, value, message", [
    ("username", "Admin1", "This username is already taken."),
    ("email", "ADMIN1@SHOP.EXAMPLE", "This email is already taken."),
    ("email", "nope", "Enter a valid email address."),
])
def test_employee_identity_checks(client, admin, field, value, message):
    response = submit(client, "/admin/employee/new/", {**EMPLOYEE, field: value})
    assert response.status_code == 200
    assert message in response.text
    assert_no_raw_sql(response.text)
    assert db.session.scalar(select(func.count()).select_from(Employee)) == 1


def test_forged_role_is_refused(client, admin):
    response = submit(client, "/admin/employee/new/", {**EMPLOYEE, "role": "superuser"})
    assert response.status_code == 200
    assert "Not a valid choice" in response.text
    assert_no_raw_sql(response.text)
    assert db.session.scalar(select(func.count()).select_from(Employee)) == 1


def test_last_active_admin_cannot_demote_themselves(client, admin, admin_user):
    response = submit(client, f"/admin/employee/edit/?id={admin_user.id}",
                      {**EMPLOYEE, "username": "admin1", "email": "admin1@shop.example", "role": "staff",
                       "new_password": ""})
    assert response.status_code == 200
    assert "This is the last active admin" in response.text
    db.session.expire_all()
    assert db.session.get(Employee, admin_user.id).role == "admin"


# -- a uniqueness race: the database catches what the form could not ---------------------


def test_duplicate_that_slips_past_the_form_gets_a_friendly_message(client, staff, monkeypatch):
    f.customer(username="ada", email="ada@example.com")
    monkeypatch.setattr("admin_app.core.validators.UniqueIgnoringCase.__call__", lambda self, form, field: None)

    response = submit(client, "/admin/customer/new/",
                      {**CUSTOMER, "username": "ada2", "email": "ADA@example.com"})
    assert response.status_code == 200
    assert "This email address already belongs to an account" in response.text
    # The message sits on the email field (Bootstrap's invalid-feedback under it).
    email_block = response.text[response.text.index('id="email"'):]
    assert "already belongs to an account" in email_block[:2000]
    assert_no_raw_sql(response.text)
    assert "UNIQUE" not in response.text
    # What was typed is still there.
    assert "ada2" in response.text

    # The session is usable afterwards: the same client saves a valid customer at once.
    response = submit(client, "/admin/customer/new/",
                      {**CUSTOMER, "username": "grace", "email": "grace@example.com"})
    assert response.status_code == 302, response.text
    db.session.expire_all()
    assert sorted(db.session.scalars(select(Customer.username))) == ["ada", "grace"]


def test_username_race_gets_a_friendly_message(client, staff, monkeypatch):
    f.customer(username="ada", email="ada@example.com")
    monkeypatch.setattr("admin_app.core.validators.UniqueIgnoringCase.__call__", lambda self, form, field: None)
    response = submit(client, "/admin/customer/new/", {**CUSTOMER, "username": "ADA", "email": "x@example.com"})
    assert response.status_code == 200
    assert "This username is already taken." in response.text
    assert_no_raw_sql(response.text)
    assert user_count() == 2
    assert client.get("/admin/customer/").status_code == 200


def test_viewer_sees_customers_but_cannot_change_them(client, viewer_user):
    ada = f.customer(username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace")
    auth = login_as(client, viewer_user)
    assert "Ada Lovelace" in client.get("/admin/customer/").text
    assert client.get(f"/admin/customer/edit/?id={ada.id}").status_code == 403
    response = auth.post(f"/admin/customer/edit/?id={ada.id}", {**CUSTOMER, "first_name": "Hacked"})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Customer, ada.id).first_name == "Ada"


# -- the full-name hybrid in the customer list --------------------------------------------


def test_full_name_is_shown_sorted_and_filtered(app, client, staff):
    carl = f.customer(username="u1", email="u1@example.com", first_name="Carl", last_name="Adams")
    bob = f.customer(username="Bob", email="bob@example.com", first_name=None, last_name=None)
    anna = f.customer(username="u3", email="u3@example.com", first_name="Anna", last_name="Zimmer")
    view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", None) == "customer")
    sort = [c for c, _label in view._list_columns].index("full_name")

    def customer_ids(url: str) -> list[int]:
        page = client.get(url)
        assert page.status_code == 200
        return [int(i) for i in re.findall(r'name="rowid"[^>]*value="(\d+)"', page.text)]

    listing = client.get("/admin/customer/").text
    assert "Carl Adams" in listing and "Anna Zimmer" in listing and ">Name<" in listing
    # Without first and last name, the username stands in.
    assert customer_ids(f"/admin/customer/?sort={sort}") == [anna.id, bob.id, carl.id]
    assert customer_ids(f"/admin/customer/?sort={sort}&desc=1") == [carl.id, bob.id, anna.id]

    contains = next(arg for arg, (_i, flt) in view._filter_args.items()
                    if flt.name == "Name" and str(flt.operation()) == "contains")
    assert customer_ids(f"/admin/customer/?flt0_{contains}=Zimmer") == [anna.id]
    assert customer_ids(f"/admin/customer/?flt0_{contains}=Bob") == [bob.id]
    assert customer_ids(f"/admin/customer/?flt0_{contains}=l Ad") == [carl.id]
