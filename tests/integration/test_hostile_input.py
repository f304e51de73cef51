"""Hostile input for every form and endpoint of the back office.

Every create and edit form (inline rows included), the sign-in and "My account" forms, bulk
actions, delete and restore, ajax look-ups and the list's query parameters are fed empty and
blank values, 10,000-character strings, numbers that do not parse or do not fit, malformed
emails and dates, unknown and soft-deleted ids, forged choices, HTML/script/SQL fragments and
unicode edge cases (combining marks, RTL override, emoji, NUL). Each request must end in a
saved record (a clean redirect) or a message on the form: never a 500, never raw SQL or a
stack trace on the page, and never a half-saved record (the rows are compared before/after).

A hand-written corpus runs every value on every field once (deterministic); Hypothesis then
mixes several hostile values into one submission (``derandomize=True``: the same examples on
every run, so the suite cannot flake).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from admin_app.accounts.models import Address, Customer, Employee
from admin_app.audit.models import AuditLog
from admin_app.catalog.models import Category, Product
from admin_app.content.models import Comment, Post, Tag, post_tags
from admin_app.extensions import db, limiter
from admin_app.sales.models import CartItem, Order, OrderItem
from tests import factories as f
from tests.conftest import PASSWORD, csrf_token_from, login_as

RAW_ERROR_MARKERS = ("IntegrityError", "OperationalError", "DataError", "ProgrammingError", "StatementError",
                     "psycopg", "sqlite3", "Traceback", "NumericValueOutOfRange", "OverflowError",
                     "Internal Server Error")

HYPOTHESIS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

UNKNOWN_ID = "987654"
ON_POSTGRESQL = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
LONG = "x" * 10_000
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SQL = "' OR 1=1 --"

# -- the corpus, per kind of field --------------------------------------------------------

TEXT = ["", " \t\r\n ", LONG, SCRIPT, SQL, IMG, "Zalgo\u0351\u0352\u0353e\u0301\u0301\u0301\u0301", "\u202eexe.txt",
        "\U0001F600\U0001F469\u200d\U0001F4BB\U0001F1E9\U0001F1EA", "nul\x00byte", "\x00", "%_\\%", "\ufeff\u200b"]
NUMBER = ["", " ", "abc", "1e309", "-1e309", "99999999999", "99999999999999999999999999", "-0", "NaN",
          "Infinity", "-Infinity", "1,5", "-1", "0", "1.005", "\u0661\u0662", "\u00b2", "\x00", LONG]
IDS = ["", "abc", "0", "-1", "99999999999", "99999999999999999999", "1.0", "\u00b2", "\u0661", "1 OR 1=1",
       "\x00", UNKNOWN_ID, LONG]
DATES = ["", " ", "not a date", "2024-02-30 10:00:00", "2024-13-01 00:00:00", "0000-00-00 00:00:00",
         "9999-12-31 23:59:59", "10000-01-01 00:00:00", "0001-01-01 00:00:00", "2024-01-01T25:00", "1e309",
         "\x00", SCRIPT, LONG]
CHOICES = ["", "superuser", "ADMIN", "admin ", "Paid", SCRIPT, SQL, "\x00", LONG]
BOOLS = ["y", "", "0", "false", "\x00", LONG, SCRIPT]
EMAILS = ["", " ", "plainaddress", "@no-local.example", "a@b", "a@@b.com", "a b@c.com", "<script>@x.com",
          LONG + "@example.com", "\u202e@example.com", "a@b.com\x00", "\u00fcn\u00ef@ex\u00e4mple.com",
          '"q"@example.com', "a@b.com,c@d.com", SQL]

# The edit forms get the whole corpus on their ids and inline rows, and this much elsewhere.
EDIT_CORPUS = {"text": ["", LONG, "nul\x00byte", SCRIPT],
               "number": ["1e309", "NaN", "-1", "99999999999999999999999999", "\x00"],
               "choice": ["", SCRIPT, "\x00"], "bool": ["\x00", LONG],
               "date": ["2024-02-30 10:00:00", "\x00", "10000-01-01 00:00:00"],
               "email": ["", "a@b", "a@b.com\x00", LONG + "@example.com"]}

# Hypothesis: any unicode text a form can carry (no surrogates), plus the corpus.
text_values = st.one_of(st.sampled_from(TEXT), st.text(max_size=60),
                        st.text(alphabet=st.sampled_from("\x00\u202e\u0301<>\"'&%_\\;-"), max_size=20))
number_values = st.one_of(st.sampled_from(NUMBER), st.integers().map(str),
                          st.floats(allow_nan=True, allow_infinity=True).map(repr),
                          st.decimals(allow_nan=True, allow_infinity=True).map(str), st.text(max_size=12))


@dataclass
class World:
    """A small shop with one soft-deleted record of every kind that has soft delete."""

    customer: Customer
    address: Address
    product: Product
    other_product: Product
    category: Category
    order: Order
    foreign_item: OrderItem  # an item of another customer's order
    cart_item: CartItem
    post: Post
    comment: Comment
    tag: Tag
    employee: Employee
    deleted: dict[str, int]


@pytest.fixture
def world(admin_user) -> World:
    customer = f.customer(username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace")
    address = f.address(customer, street="Home St 1")
    category = f.category(name="Lamps")
    product = f.product(name="Desk lamp", price=Decimal("20.00"), category=category)
    other_product = f.product(name="Bulb", price=Decimal("2.50"))
    order = f.order(customer, items=[(product, 1, Decimal("20.00")), (other_product, 2, Decimal("2.50"))])
    foreign = f.order(items=[(product, 3, Decimal("19.00"))])
    cart_item = f.cart_item(customer, product)
    employee = f.employee(username="writer", first_name="Wanda", last_name="Writer", department="Blog")
    post = f.post(employee, title="Hello")
    comment = f.comment(post)
    tag = f.tag(name="news")
    gone: dict[str, Any] = {
        "customer": f.customer(username="gone", email="gone@example.com"),
        "product": f.product(name="Gone lamp"),
        "category": f.category(name="Gone category"),
        "post": f.post(employee, title="Gone post"),
    }
    gone["order"] = f.order(customer, items=[(product, 1, Decimal("1.00"))])
    gone["comment"] = f.comment(post, body="gone")
    for record in gone.values():
        record.soft_delete()
    db.session.commit()
    return World(customer, address, product, other_product, category, order, foreign.items[0], cart_item, post,
                 comment, tag, employee, {name: record.id for name, record in gone.items()})


@pytest.fixture
def admin(client, admin_user):
    return login_as(client, admin_user)


# -- forms ------------------------------------------------------------------------------


@dataclass
class FormSpec:
    endpoint: str
    model: Any
    # name → kind: text, number, id:<target>, choice, bool, date, email, multi:<target>
    fields: dict[str, str]
    base: Callable[[World], dict[str, Any]]
    record: Callable[[World], Any]  # the record the edit form edits
    inline: str | None = None  # inline collection: items, addresses


def _items(w: World, rows: list[tuple[Any, ...]]) -> dict[str, str]:
    data = {}
    for n, (product, quantity, price, *item_id) in enumerate(rows):
        data |= {f"items-{n}-product": str(product), f"items-{n}-quantity": str(quantity),
                 f"items-{n}-price": str(price)}
        if item_id:
            data[f"items-{n}-id"] = str(item_id[0])
    return data


ADDRESS = {"street": "Side St 2", "city": "Paris", "state": "", "zip_code": "75001", "country": "France"}

FORMS = {
    "order": FormSpec(
        "order", Order,
        {"user": "id:customer", "address": "id:address", "status": "choice", "shipping_fee": "number",
         "notes": "text", "loaded_version": "number", "items-0-product": "id:product", "items-0-quantity": "number",
         "items-0-price": "number", "items-1-product": "id:product", "items-1-quantity": "number",
         "items-1-price": "number", "items-0-id": "id:orderitem", "del-items-0": "bool"},
        lambda w: {"user": str(w.customer.id), "address": str(w.address.id), "status": "pending",
                   "shipping_fee": "4.90", "notes": "Ring twice",
                   **_items(w, [(w.product.id, 1, "20.00"), (w.other_product.id, 2, "")])},
        lambda w: w.order, inline="items"),
    "orderitem": FormSpec(
        "orderitem", OrderItem,
        {"order": "id:order", "product": "id:product", "quantity": "number", "price": "number"},
        lambda w: {"order": str(w.order.id), "product": str(w.product.id), "quantity": "2", "price": "3.00"},
        lambda w: w.order.items[0]),
    "cartitem": FormSpec(
        "cartitem", CartItem,
        {"user": "id:customer", "product": "id:product", "quantity": "number"},
        lambda w: {"user": str(w.customer.id), "product": str(w.other_product.id), "quantity": "1"},
        lambda w: w.cart_item),
    "product": FormSpec(
        "product", Product,
        {"name": "text", "sku": "text", "category": "id:category", "price": "number", "stock": "number",
         "description": "text", "loaded_version": "number"},
        lambda w: {"name": "Floor lamp", "sku": "", "category": str(w.category.id), "price": "35.00", "stock": "3",
                   "description": "Tall"},
        lambda w: w.product),
    "category": FormSpec(
        "category", Category,
        {"name": "text", "parent": "id:category", "description": "text"},
        lambda w: {"name": "Shades", "parent": "", "description": "Things"},
        lambda w: w.category),
    "customer": FormSpec(
        "customer", Customer,
        {"username": "text", "email": "email", "first_name": "text", "last_name": "text", "loyalty_points": "number",
         "addresses-0-street": "text", "addresses-0-city": "text", "addresses-0-state": "text",
         "addresses-0-zip_code": "text", "addresses-0-country": "text", "addresses-0-is_default": "bool",
         "addresses-0-id": "id:address", "del-addresses-0": "bool"},
        lambda w: {"username": "grace", "email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper",
                   "loyalty_points": "5", **{f"addresses-0-{k}": v for k, v in ADDRESS.items()}},
        lambda w: w.customer, inline="addresses"),
    "address": FormSpec(
        "address", Address,
        {"user": "id:customer", **{k: "text" for k in ADDRESS}, "is_default": "bool"},
        lambda w: {"user": str(w.customer.id), **ADDRESS},
        lambda w: w.address),
    "post": FormSpec(
        "post", Post,
        {"title": "text", "status": "choice", "author": "id:employee", "category": "id:category",
         "tags": "multi:tag", "content": "text", "published_at": "date"},
        lambda w: {"title": "Summer sale", "status": "draft", "author": str(w.employee.id), "category": "",
                   "tags": [str(w.tag.id)], "content": "Everything must go", "published_at": ""},
        lambda w: w.post),
    "comment": FormSpec(
        "comment", Comment,
        {"post": "id:post", "author_name": "text", "body": "text", "is_approved": "bool"},
        lambda w: {"post": str(w.post.id), "author_name": "Guest", "body": "Lovely"},
        lambda w: w.comment),
    "tag": FormSpec("tag", Tag, {"name": "text"}, lambda w: {"name": "sale"}, lambda w: w.tag),
    "employee": FormSpec(
        "employee", Employee,
        {"username": "text", "email": "email", "first_name": "text", "last_name": "text", "role": "choice",
         "is_active": "bool", "department": "text", "new_password": "text"},
        lambda w: {"username": "newbie", "email": "newbie@shop.example", "first_name": "New", "last_name": "Bie",
                   "role": "staff", "is_active": "y", "department": "Sales", "new_password": "long-enough-pass"},
        lambda w: w.employee),
}

def snapshot(spec: FormSpec) -> dict[str, Any]:
    """The rows a submission of ``spec`` could touch, and how much history there is (every
    change through the ORM is recorded, so an unchanged history means nothing else changed)."""
    db.session.expire_all()
    tables = [spec.model.__table__,
              *{"items": [OrderItem.__table__], "addresses": [Address.__table__]}.get(spec.inline or "", []),
              *([post_tags] if spec.model is Post else [])]
    rows: dict[str, Any] = {t.name: sorted(map(tuple, db.session.execute(select(t)).all()), key=repr) for t in tables}
    rows["history"] = db.session.scalar(select(func.count()).select_from(AuditLog))
    return rows


def corpus_for(kind: str, w: World) -> list[Any]:
    if kind.startswith(("id:", "multi:")):
        target = kind.split(":")[1]
        extra = [str(w.deleted[target])] if target in w.deleted else []
        if target == "orderitem":
            extra.append(str(w.foreign_item.id))  # an item of another order
        return IDS + extra + ([[str(w.tag.id), str(w.tag.id)], [str(w.tag.id), "abc"]]
                              if kind.startswith("multi") else [])
    return {"text": TEXT, "number": NUMBER, "choice": CHOICES, "bool": BOOLS, "date": DATES, "email": EMAILS}[kind]


def strategy_for(kind: str, w: World) -> st.SearchStrategy[Any]:
    corpus = st.sampled_from(corpus_for(kind, w))
    if kind == "text":
        return text_values
    if kind == "number":
        return number_values
    return st.one_of(corpus, text_values)


def has_error_message(page: str) -> bool:
    return any(marker in page for marker in ("invalid-feedback", "alert-danger", "alert-warning", "alert-error"))


def assert_no_raw_error(response: Any) -> None:
    assert response.status_code < 500, response.text[:3000]
    for marker in RAW_ERROR_MARKERS:
        assert marker not in response.text, f"{marker!r} shown to the user"


class Poster:
    """Posts forms like a browser, with the session's CSRF token (fetched once)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.token = csrf_token_from(client.get("/admin/account/").text)

    def post(self, url: str, data: dict[str, Any]) -> Any:
        return self.client.post(url, data={"csrf_token": self.token, **data})


def submit_and_check(poster: Poster, spec: FormSpec, w: World, mode: str, changes: dict[str, Any]) -> Any:
    """Submit the form with ``changes`` over valid data; check the outcome is whole."""
    data = spec.base(w)
    url = f"/admin/{spec.endpoint}/new/"
    record = None
    if mode == "edit":
        db.session.expire_all()
        record = db.session.get(spec.model, spec.record(w).id)
        url = f"/admin/{spec.endpoint}/edit/?id={record.id}"
        if hasattr(record, "version_id"):
            data["loaded_version"] = str(record.version_id)
        if spec.endpoint == "order":  # edit the order's own items
            items = sorted(record.items, key=lambda i: i.id)
            data |= _items(w, [(i.product_id, i.quantity, f"{i.price:.2f}", i.id) for i in items])
        if spec.endpoint == "customer":
            data["addresses-0-id"] = str(w.address.id)
        if spec.endpoint == "employee":
            data["new_password"] = ""
    data.update(changes)
    before = snapshot(spec)
    response = poster.post(url, data)
    assert_no_raw_error(response)
    after = snapshot(spec)
    if response.status_code == 302 and "/login" not in response.headers["Location"]:
        assert "/new/" not in response.headers["Location"] or mode == "create", response.headers["Location"]
        check_saved_whole(spec, mode, url, data, before, after)
    else:
        assert response.status_code == 200, (response.status_code, changes)
        assert has_error_message(response.text), f"no message for {changes!r}"
        assert after == before, f"refused submission {changes!r} changed the database"
    return response


def check_saved_whole(spec: FormSpec, mode: str, url: str, data: dict[str, Any], before: dict[str, Any],
                      after: dict[str, Any]) -> None:
    """A saved order has every posted item row; a saved customer every address row."""
    table = spec.model.__table__.name
    if mode == "create":
        assert len(after[table]) == len(before[table]) + 1
    if spec.inline:
        child = {"items": "order_items", "addresses": "addresses"}[spec.inline]
        rows = {k.split("-")[1] for k in data if k.startswith(f"{spec.inline}-") and k.count("-") == 2}
        deleted = {k.split("-")[2] for k in data if k.startswith(f"del-{spec.inline}-")}
        if mode == "create":
            assert len(after[child]) - len(before[child]) == len(rows - deleted)
        else:
            # Posted rows with one of the record's ids change (or remove) that row; any other
            # row is new. Rows that were not posted stay as they were.
            parent_key = {"items": "order_id", "addresses": "user_id"}[spec.inline]
            parent_id = int(re.search(r"id=(\d+)", url).group(1))
            columns = {"items": OrderItem, "addresses": Address}[spec.inline].__table__.c.keys()
            had = {str(row[0]) for row in before[child] if row[columns.index(parent_key)] == parent_id}
            has = [row for row in after[child] if row[columns.index(parent_key)] == parent_id]
            posted = {n: str(data.get(f"{spec.inline}-{n}-id", "")) for n in rows}
            removed = {posted[n] for n in rows & deleted if posted[n] in had}
            added = [n for n in rows if posted[n] not in had and n not in deleted]
            assert len(has) == len(had) - len(removed) + len(added), (data, has)


def form_specs(mode: str) -> list[Any]:
    return [pytest.param(name, mode, id=f"{name}-{mode}") for name in FORMS]


# -- every corpus value on every field, one at a time -------------------------------------


@pytest.mark.parametrize("name, mode", form_specs("create") + form_specs("edit"))
def test_every_field_refuses_or_saves_hostile_values(client, admin, world, name, mode):
    spec = FORMS[name]
    poster = Poster(client)
    failures = []
    for field, kind in spec.fields.items():
        short = mode == "edit" and kind in EDIT_CORPUS and not field.startswith(("items-", "addresses-", "del-"))
        for value in EDIT_CORPUS[kind] if short else corpus_for(kind, world):
            try:
                submit_and_check(poster, spec, world, mode, {field: value})
            except Exception as error:  # every failure of the corpus at once
                failures.append(f"{field}={value!r:.60}: {str(error)[:300]}")
    assert not failures, "\n".join(failures)


# -- Hypothesis: several hostile values in one submission ----------------------------------


@pytest.mark.parametrize("name, mode", form_specs("create") + form_specs("edit"))
@HYPOTHESIS
@given(data=st.data())
def test_mixed_hostile_submissions(client, admin, world, name, mode, data):
    spec = FORMS[name]
    poster = getattr(client, "_hostile_poster", None) or Poster(client)
    client._hostile_poster = poster
    fields = data.draw(st.lists(st.sampled_from(sorted(spec.fields)), min_size=1, max_size=4, unique=True))
    changes = {field: data.draw(strategy_for(spec.fields[field], world), label=field) for field in fields}
    submit_and_check(poster, spec, world, mode, changes)


# -- NUL: a message on the field, the same on SQLite and PostgreSQL -------------------------


@pytest.mark.parametrize("endpoint, field", [("product", "name"), ("product", "sku"), ("category", "name"),
                                             ("customer", "email"), ("customer", "addresses-0-street"),
                                             ("tag", "name"), ("order", "notes"), ("employee", "username")])
def test_nul_is_a_message_on_the_field(client, admin, world, endpoint, field):
    response = submit_and_check(Poster(client), FORMS[endpoint], world, "create", {field: "a\x00b"})
    assert response.status_code == 200
    assert "Remove the invisible NUL character" in response.text


# -- sign-in and "My account" ----------------------------------------------------------------

LOGIN_VALUES = TEXT + EMAILS + ["admin1\x00", "\x00admin1", "ADMIN1", " admin1 ", "admin1' --"]


def test_login_form_refuses_hostile_values(client, admin_user):
    token = csrf_token_from(client.get("/login").text)
    for field in ("username", "password"):
        for value in LOGIN_VALUES:
            limiter.reset()
            data = {"username": "admin1", "password": "wrong-password-1", field: value, "csrf_token": token}
            response = client.post("/login", data=data)
            assert_no_raw_error(response)
            assert response.status_code in (200, 400), (field, value, response.status_code)
            assert has_error_message(response.text) or "invalid-feedback" in response.text, (field, value)
    limiter.reset()
    response = client.post("/login", data={"username": "admin1\x00", "password": PASSWORD, "csrf_token": token})
    assert response.status_code in (200, 400)  # not signed in: NUL is no part of a username
    assert client.get("/admin/").status_code == 302


@HYPOTHESIS
@given(username=text_values, password=text_values, next_url=text_values)
def test_login_with_anything(client, admin_user, username, password, next_url):
    limiter.reset()
    token = csrf_token_from(client.get("/login").text)
    response = client.post(f"/login?next={next_url}", data={"username": username, "password": password,
                                                            "csrf_token": token})
    assert_no_raw_error(response)
    assert response.status_code in (200, 400)


ACCOUNT_PASSWORD_FIELDS = ("pw-current_password", "pw-new_password", "pw-confirm_password")


def test_my_account_forms_refuse_hostile_values(client, staff_user):
    login_as(client, staff_user)
    poster = Poster(client)
    before = (staff_user.password_hash, dict(staff_user.preferences))
    for field in ACCOUNT_PASSWORD_FIELDS:
        for value in TEXT:
            data = {"pw-current_password": PASSWORD, "pw-new_password": "a-new-password-1",
                    "pw-confirm_password": "a-new-password-1", "pw-submit_password": "y", field: value}
            if field == "pw-new_password":
                data["pw-confirm_password"] = value
            if field != "pw-current_password" and value.strip() and "\x00" not in value and len(value) >= 15:
                continue  # may be an acceptable new password: saved (checked below)
            limiter.reset()  # wrong current passwords are throttled: this test is about the values
            response = poster.post("/admin/account/", data)
            assert_no_raw_error(response)
            assert response.status_code == 400 and "invalid-feedback" in response.text, (field, value)
    for field, good in (("prefs-page_size", "50"), ("prefs-theme", "dark")):
        for value in [*CHOICES, *NUMBER, "20.0", "0020", "-20", "20 ", "1000000"]:
            if value == good:
                continue
            data = {"prefs-page_size": "50", "prefs-theme": "dark", "prefs-submit_preferences": "y", field: value}
            response = poster.post("/admin/account/", data)
            assert_no_raw_error(response)
            assert response.status_code == 400 and "invalid-feedback" in response.text, (field, value)
    db.session.expire_all()
    employee = db.session.get(Employee, staff_user.id)
    assert (employee.password_hash, dict(employee.preferences)) == before
    # Neither submit button, or both: nothing breaks.
    for data in ({}, {"pw-submit_password": "y", "prefs-submit_preferences": "y"},
                 {"prefs-submit_preferences": "\x00"}):
        assert_no_raw_error(poster.post("/admin/account/", data))


# -- list pages: search, sort, paging, page size and filters ---------------------------------

LIST_ENDPOINTS = ("order", "orderitem", "cartitem", "product", "category", "customer", "address", "post", "comment",
                  "tag", "employee", "auditlog")
LIST_PARAMS = [
    {"page": "-1"}, {"page": "99999999999999999999"}, {"page": "2147483648"}, {"page": "abc"}, {"page": "1e309"},
    {"page": "\u00b2"}, {"sort": "abc"}, {"sort": "999"}, {"sort": "-1"}, {"sort": "99999999999999999999"},
    {"sort": "0", "desc": "abc"}, {"sort": "0", "desc": "99999999999999999999"}, {"page_size": "0"},
    {"page_size": "-5"}, {"page_size": "99999999999999999999"}, {"page_size": "1000000"}, {"page_size": "abc"},
    {"search": "%00"}, {"search": "\x00"}, {"search": "a\x00b"}, {"search": "\u00b2"},
    {"search": "99999999999999999999"},
    {"search": LONG}, {"search": SQL}, {"search": "%"}, {"search": "_"}, {"search": "\\"}, {"search": " "},
    {"search": "\u202e\U0001F600"}, {"flt0_999": "x"}, {"flt0_abc": "x"}, {"flt99999999999999999999_0": "x"},
    {"flt0_-1": "x"}, {"flt0_0": "\x00"}, {"flt0_0": LONG},
]


def view_of(app: Any, endpoint: str) -> Any:
    return next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", None) == endpoint)


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
def test_list_query_parameters_never_fail(app, client, admin, world, endpoint):
    failures = []
    filter_args = sorted(view_of(app, endpoint)._filter_args or {})
    cases = list(LIST_PARAMS)
    # Every filter at once, with each hostile value (an invalid value is ignored, never a 500).
    for value in ["", "abc", "\x00", "99999999999999999999", "2147483648", "-2147483649", "1e309", "NaN", "-1",
                  "2024-02-30 10:00:00", "2024-01-01 00:00:00 to 2023-01-01 00:00:00",
                  "a to b", "1,abc,\x00", LONG, SCRIPT, SQL]:
        cases.append({f"flt{n}_{arg}": value for n, arg in enumerate(filter_args)})
    for params in cases:
        paths = [f"/admin/{endpoint}/"]
        if not {"page", "page_size", "sort"} & set(params):
            paths.append(f"/admin/{endpoint}/export/csv/")
        for path in paths:
            try:
                response = client.get(path, query_string=params)
                assert_no_raw_error(response)
                assert response.status_code == 200, response.status_code
                if path.endswith("csv/"):
                    response.get_data()  # the stream runs to the end
            except Exception as error:  # report every failing URL at once
                failures.append(f"{path} {str(params)[:80]}: {type(error).__name__} {str(error)[:200]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
@settings(HYPOTHESIS, max_examples=12)
@given(data=st.data())
def test_list_with_random_query_parameters(app, client, admin, endpoint, data):
    names = ["page", "page_size", "sort", "desc", "search", *sorted(view_of(app, endpoint)._filter_args or {})[:12]]
    params = data.draw(st.dictionaries(st.sampled_from(names), st.one_of(text_values, number_values), max_size=4))
    params = {(f"flt0_{k}" if k not in ("page", "page_size", "sort", "desc", "search") else k): v
              for k, v in params.items()}
    response = client.get(f"/admin/{endpoint}/", query_string=params)
    assert_no_raw_error(response)
    assert response.status_code == 200


# -- ajax look-ups ----------------------------------------------------------------------------

LOOKUPS = [("order", "user"), ("order", "address"), ("order", "orderitem-product"), ("orderitem", "order"),
           ("orderitem", "product"), ("cartitem", "user"), ("cartitem", "product"), ("product", "category"),
           ("category", "parent"), ("address", "user"), ("post", "author"), ("post", "category"),
           ("comment", "post")]
LOOKUP_TERMS = ["", " ", "\x00", "a\x00", "%", "_", "\\", SQL, SCRIPT, LONG, "\u00b2", "99999999999999999999",
                "\u202e\U0001F600", "e\u0301"]
LOOKUP_NUMBERS = ["", "-1", "0", "abc", "99999999999999999999", "2147483648", "1e309", "\u00b2"]


def test_ajax_lookups_never_fail(client, admin, world):
    failures = []
    for endpoint, name in LOOKUPS:
        cases = [{"query": term} for term in LOOKUP_TERMS]
        cases += ([{"query": "a", "offset": n} for n in LOOKUP_NUMBERS]
                  + [{"query": "a", "limit": n} for n in LOOKUP_NUMBERS])
        cases += [{"query": "a", "user_id": n} for n in [*LOOKUP_NUMBERS, "\x00"]]
        for params in cases:
            try:
                response = client.get(f"/admin/{endpoint}/ajax/lookup/", query_string={"name": name, **params})
                assert_no_raw_error(response)
                assert response.status_code == 200 and response.mimetype == "application/json", response.status_code
                assert all(str(world.deleted.get("customer")) != str(row[0]) or endpoint != "order"
                           for row in response.json)
            except Exception as error:
                failures.append(f"{endpoint}/{name} {str(params)[:60]}: {type(error).__name__} {str(error)[:200]}")
    for endpoint, name in [("order", "nope"), ("order", "\x00"), ("order", ""), ("product", SCRIPT)]:
        response = client.get(f"/admin/{endpoint}/ajax/lookup/", query_string={"name": name, "query": "a"})
        if response.status_code != 404:
            failures.append(f"{endpoint}/{name!r}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_ajax_lookups_leave_deleted_records_out(client, admin, world):
    for endpoint, name, term, deleted in [("order", "user", "gone", "customer"),
                                          ("orderitem", "product", "Gone", "product"),
                                          ("product", "category", "Gone", "category"),
                                          ("comment", "post", "Gone", "post")]:
        found = client.get(f"/admin/{endpoint}/ajax/lookup/", query_string={"name": name, "query": term}).json
        assert str(world.deleted[deleted]) not in [str(row[0]) for row in found]


# -- bulk actions, delete, restore ----------------------------------------------------------

ACTION_IDS = ["", "abc", "0", "-1", "2147483648", "1.0", "1 OR 1=1", "\x00", "\u0661", UNKNOWN_ID,
              LONG]
FORGED_ACTIONS = ["nope", SCRIPT, "\x00", "_move"]
ENDPOINT_ACTIONS = {
    "order": ["delete", "restore", "purge", "mark_paid", "mark_shipped", "mark_delivered", "cancel"],
    "orderitem": ["delete"], "cartitem": ["delete"], "product": ["delete", "restore", "purge"],
    "category": ["delete", "restore", "purge"], "customer": ["delete", "restore", "purge"], "address": ["delete"],
    "post": ["delete", "restore", "purge"], "comment": ["delete", "restore", "purge", "approve"], "tag": ["delete"],
    "employee": ["deactivate", "reactivate"],
}


@pytest.mark.parametrize("endpoint", sorted(ENDPOINT_ACTIONS))
def test_bulk_actions_delete_and_restore_refuse_hostile_ids(client, admin, world, endpoint):
    poster = Poster(client)
    hostile_ids = list(ACTION_IDS)
    failures = []
    deleted = [str(world.deleted[endpoint])] if endpoint in world.deleted else []
    for action in ENDPOINT_ACTIONS[endpoint] + FORGED_ACTIONS:
        singles = [[i] for i in hostile_ids] if action in ("delete", "restore", "mark_paid", "deactivate") else []
        for ids in [*singles, hostile_ids, deleted, deleted * 2, []]:
            try:
                response = poster.post(f"/admin/{endpoint}/action/", {"action": action, "rowid": ids})
                assert_no_raw_error(response)
                assert response.status_code in (302, 400, 403, 404), response.status_code
            except Exception as error:
                failures.append(f"action {action!r:.20} {str(ids)[:60]}: {type(error).__name__} {str(error)[:200]}")
    for url in (f"/admin/{endpoint}/delete/", f"/admin/{endpoint}/restore/"):
        for record_id in [*hostile_ids, *deleted]:
            try:
                response = poster.post(url, {"id": record_id})
                assert_no_raw_error(response)
                assert response.status_code in (302, 403, 404), response.status_code
            except Exception as error:
                failures.append(f"{url} {record_id!r:.30}: {type(error).__name__} {str(error)[:200]}")
    for view in ("edit", "details"):
        for record_id in hostile_ids:
            try:
                response = client.get(f"/admin/{endpoint}/{view}/", query_string={"id": record_id})
                assert_no_raw_error(response)
                assert response.status_code in (200, 302, 404), response.status_code  # 200: "١" is record 1
            except Exception as error:
                failures.append(f"{view} ?id={record_id!r:.30}: {type(error).__name__} {str(error)[:200]}")
    assert not failures, "\n".join(failures)


# Ids, pages and searches that are no ids, pages or words: each once, on its own.
ODD_REQUESTS = [
    ("get", "/admin/product/edit/?id=99999999999999999999", None),
    ("get", "/admin/product/details/?id=%C2%B2", None),
    ("get", "/admin/address/edit/?id=99999999999999999999", None),
    ("post", "/admin/product/delete/", {"id": "99999999999999999999"}),
    ("post", "/admin/product/restore/", {"id": "99999999999999999999"}),
    ("post", "/admin/product/action/", {"action": "delete", "rowid": ["\u00b2"]}),
    ("post", "/admin/product/action/", {"action": "restore", "rowid": ["99999999999999999999"]}),
    ("get", "/admin/product/?page=99999999999999999999", None),
    ("get", "/admin/order/?search=%C2%B2", None),
    ("get", "/admin/product/?page=-1", None),
    ("get", "/admin/customer/?search=%00", None),
    ("get", "/admin/order/export/csv/?search=a%00b", None),
    ("get", "/admin/product/edit/?id=2147483648", None),
    ("post", "/admin/product/action/", {"action": "purge", "rowid": ["2147483648"]}),
]


@pytest.mark.parametrize("method, url, data", ODD_REQUESTS)
def test_base_view_takes_ids_and_pages_that_are_no_ids(client, admin, world, method, url, data):
    response = client.get(url) if method == "get" else Poster(client).post(url, data)
    assert_no_raw_error(response)
    assert response.status_code in (200, 302, 404)


# -- stored script is escaped on every page ----------------------------------------------------

XSS = ['<script>alert("xss")</script>', '"><img src=x onerror=alert(1)>']
RAW_XSS = ('<script>alert("xss")', "<img src=x onerror")


def stored_payloads(payload: str, n: int) -> dict[str, Any]:
    """One record of every entity with ``payload`` in every text field."""
    category = f.category(name=f"{payload}{n}", description=payload)
    product = f.product(name=payload, description=payload, sku=f"x{n}{payload}"[:32], category=category)
    customer = f.customer(username=f"{payload}{n}", email=f"xss{n}@example.com", first_name=payload, last_name=payload)
    address = f.address(customer, street=payload, city=payload, country=payload)
    order = f.order(customer, items=[(product, 1, Decimal("1.00"))], notes=payload)
    employee = f.employee(first_name=payload, last_name=payload, department=payload)
    post = f.post(employee, title=payload, content=payload, category=category)
    comment = f.comment(post, author_name=payload, body=payload)
    tag = f.tag(name=f"{payload}{n}")
    post.tags.append(tag)
    cart_item = f.cart_item(customer, product)
    db.session.commit()
    return {"category": category, "product": product, "customer": customer, "address": address, "order": order,
            "orderitem": order.items[0], "employee": employee, "post": post, "comment": comment, "tag": tag,
            "cartitem": cart_item}


def assert_escaped(page: str, where: str) -> None:
    for raw in RAW_XSS:
        assert raw not in page, f"unescaped {raw!r} on {where}"


def test_stored_script_is_escaped_on_every_page(client, admin, world):
    records = [stored_payloads(payload, n) for n, payload in enumerate(XSS)]
    urls = ["/admin/", "/admin/auditlog/", "/admin/account/"]
    for endpoint in LIST_ENDPOINTS:
        urls += [f"/admin/{endpoint}/", f"/admin/{endpoint}/?search=xss", f"/admin/{endpoint}/?search={XSS[0]}"]
    for by_endpoint in records:
        for endpoint, record in by_endpoint.items():
            urls += [f"/admin/{endpoint}/details/?id={record.id}", f"/admin/{endpoint}/edit/?id={record.id}",
                     f"/admin/auditlog/record/{type(record).__name__}/{record.id}/"]
    shown_escaped = False
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.text, url)
        shown_escaped = shown_escaped or "&lt;script&gt;alert(" in response.text
    assert shown_escaped
    # A deleted record's page, and the sign-in page with the payload in ``next``.
    records[0]["product"].soft_delete()
    db.session.commit()
    assert_escaped(client.get(f"/admin/product/edit/?id={records[0]['product'].id}").text, "deleted page")
    for payload in XSS:
        assert_escaped(client.get("/login", query_string={"next": payload}).text, "login")
    # CSV: the payload is plain text in its cell.
    for endpoint in ("product", "customer", "post", "category"):
        response = client.get(f"/admin/{endpoint}/export/csv/")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        cells = {cell for row in csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
                 for cell in row}
        assert any(payload in cell for payload in XSS for cell in cells), endpoint
    # Ajax look-ups answer JSON, never HTML.
    response = client.get("/admin/orderitem/ajax/lookup/", query_string={"name": "product", "query": "onerror"})
    # (The label is the name, raw, then SKU, price and stock: issue 22.)
    assert response.mimetype == "application/json" and XSS[1] in [row[1].split(" · ")[0] for row in response.json]
