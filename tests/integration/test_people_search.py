"""Search that finds people (issue 22): the order, cart, address, customer and employee lists
find a person by first name, last name, full name, username or email, on a normalised form
(accents, case and punctuation ignored) kept in ``users.search_key`` by every write path."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from admin_app.accounts.erasure import anonymise_customer
from admin_app.accounts.models import Address, Employee, User
from admin_app.core.search import normalise
from admin_app.demo import DemoSizes, seed_demo
from admin_app.extensions import db
from tests import factories as f
from tests.conftest import make_app
from tests.integration.test_list_queries import statements
from tests.unit.test_migrations import empty_database_url  # noqa: F401  (a fixture)

ROW = re.compile(r'name="rowid"[^>]*value="(\d+)"')


def key_of(user_id: int) -> str:
    return db.session.scalar(select(User.search_key).where(User.id == user_id))


def listed(client, endpoint: str, search: str) -> set[int]:
    response = client.get(f"/admin/{endpoint}/", query_string={"search": search})
    assert response.status_code == 200
    return {int(i) for i in ROW.findall(response.text)}


def test_normalise_folds_accents_case_and_punctuation():
    assert normalise("Émile") == "emile"
    assert normalise("O'Brien") == normalise("OBRIEN") == normalise("o'brien") == "obrien"
    assert normalise("Straße", None, "  Zoë ") == "strasse zoe"


def test_orm_create_and_update_keep_the_key():
    person = f.customer(first_name="Émile", last_name="O'Brien", username="E_OB", email="Emile.OBrien@Example.com")
    assert key_of(person.id) == "emile obrien eob emileobrienexamplecom"
    person.last_name = "Dubois"
    db.session.commit()
    assert key_of(person.id) == "emile dubois eob emileobrienexamplecom"


def test_erasure_keeps_the_key():
    person = f.customer(first_name="Émile", last_name="O'Brien")
    anonymise_customer(person)
    db.session.commit()
    assert "emile" not in key_of(person.id)
    assert key_of(person.id) == normalise(f"erased-{person.id}", f"erased-{person.id}@erased.example")


def test_seed_demo_bulk_insert_fills_the_key():
    seed_demo(DemoSizes(customers=60, products=3, orders=2, items_per_order=1, posts=1))
    people = db.session.execute(select(User.first_name, User.last_name, User.username, User.email,
                                       User.search_key)).all()
    assert len(people) == 63
    for first, last, username, email, key in people:
        assert key == normalise(first, last, username, email)


def _customer_before_0012(**values) -> int:
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO users (type, username, email, first_name, last_name, preferences, created_at, updated_at, "
            "version_id) VALUES ('customer', :username, :email, :first_name, :last_name, '{}', CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP, 1)"), values)
        return connection.scalar(text("SELECT max(id) FROM users"))


def _plan(statement: str) -> str:
    """The plan of ``statement``; on PostgreSQL as if the table were big (no sequential scan),
    where the trigram index answers ``LIKE '%word%'``; SQLite scans the b-tree index, not the table."""
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            return "\n".join(connection.scalars(text(f"EXPLAIN {statement}")))
        return " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {statement}")))


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migration_fills_the_key_of_existing_rows(empty_database_url):  # noqa: F811
    app = make_app(empty_database_url)
    with app.app_context():
        directory = app.extensions["migrate"].directory
        upgrade(directory=directory, revision="0011")
        uid = _customer_before_0012(username="eob", email="emile@example.com", first_name="Émile",
                           last_name="O'Brien")
        upgrade(directory=directory)
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT search_key FROM users WHERE id = :i"), {"i": uid}) == \
                "emile obrien eob emileexamplecom"
            indexes = connection.scalars(text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'users'" if db.engine.dialect.name ==
                "postgresql" else "SELECT name FROM sqlite_master WHERE tbl_name = 'users'")).all()
        assert "ix_users_search_key" in indexes, indexes
        if db.engine.dialect.name == "postgresql":
            assert "ix_users_search_key_trgm" in indexes, indexes
        assert "ix_users_search_key" in _plan("SELECT id FROM users WHERE search_key LIKE '%obrien%'")
        downgrade(directory=directory, revision="0011")
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT username FROM users WHERE id = :i"), {"i": uid}) == "eob"
        db.engine.dispose()


@pytest.fixture
def people():
    obrien = f.customer(first_name="Siobhán", last_name="O'Brien", username="sob", email="s.ob@example.com")
    emile = f.customer(first_name="Émile", last_name="Dubois", username="edu", email="edu@example.com")
    other = f.customer(first_name="Anna", last_name="Vogel", username="avogel", email="anna@example.com")
    return obrien, emile, other


SEARCHES = {"O'Brien": 0, "OBRIEN": 0, "o'brien": 0, "Émile": 1, "emile": 1, "EMILE dubois": 1,
            "Siobhán O'Brien": 0, "s.ob@example": 0, "edu": 1}


def test_customer_and_employee_lists_find_people(client, admin, people):
    for search, who in SEARCHES.items():
        assert listed(client, "customer", search) == {people[who].id}, search
    worker = Employee(username="zoe.k", email="zk@shop.example", first_name="Zoë", last_name="D'Angelo",
                      role="staff")
    db.session.add(worker)
    db.session.commit()
    for search in ("zoe", "dangelo", "D'ANGELO", "Zoë D'Angelo", "zk@shop"):
        assert listed(client, "employee", search) == {worker.id}, search


def test_order_cart_and_address_lists_find_the_customer(client, admin, people):
    product = f.product()
    orders = [f.order(user=person, items=[(product, 1, Decimal("2.00"))]) for person in people]
    carts = [f.cart_item(user=person, product_=product) for person in people]
    addresses = [set(db.session.scalars(select(Address.id).where(Address.user_id == person.id)))
                 for person in people]
    assert all(addresses)
    for search, who in SEARCHES.items():
        assert listed(client, "order", search) == {orders[who].id}, search
        assert listed(client, "cartitem", search) == {carts[who].id}, search
        assert listed(client, "address", search) == addresses[who], search
    assert listed(client, "order", str(orders[2].id)) == {orders[2].id}  # the order number still works


def test_export_finds_the_same_people(client, admin, people):
    product = f.product()
    orders = [f.order(user=person, items=[(product, 1, Decimal("2.00"))]) for person in people]
    csv = client.get("/admin/order/export/csv/", query_string={"search": "obrien"}).text
    lines = csv.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"{orders[0].id},")


def test_letters_nfkd_keeps_whole_are_found_as_typed_plainly(client, admin):
    """"lodz" finds "Łódź", "soren" finds "Søren": on the customer list and through the
    order list's customer (the stored key and the query are transliterated alike)."""
    lodz = f.customer(first_name="Jan", last_name="Łódź-Wiśniewski", username="jlw", email="jan@example.pl")
    soren = f.customer(first_name="Søren", last_name="Kierkegaard", username="sk", email="sk@example.dk")
    f.customer(first_name="Loda", last_name="Sorell-Lodge", username="ls", email="ls@example.com")
    order = f.order(user=soren, items=[(f.product(), 1, Decimal("2.00"))])
    for search, who in (("lodz", lodz), ("LODZ wisniewski", lodz), ("Łódź", lodz), ("soren", soren),
                        ("SØREN", soren), ("soren kierkegaard", soren)):
        assert listed(client, "customer", search) == {who.id}, search
    assert listed(client, "order", "soren") == {order.id}


def _customer_keyed_as_0012(**values) -> int:
    uid = _customer_before_0012(**values)
    with db.engine.begin() as connection:  # the key 0012 wrote: "Ł" and "ø" kept as they are
        connection.execute(text("UPDATE users SET search_key = 'łodz søren' WHERE id = :i"), {"i": uid})
    return uid


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migration_0013_transliterates_the_stored_keys(empty_database_url):  # noqa: F811
    app = make_app(empty_database_url)
    with app.app_context():
        directory = app.extensions["migrate"].directory
        upgrade(directory=directory, revision="0012")
        uid = _customer_keyed_as_0012(username="łs", email="ls@example.com", first_name="Łódź", last_name="Søren")
        upgrade(directory=directory, revision="0013")
        key = "select search_key from users where id = :i"
        with db.engine.connect() as connection:
            assert connection.scalar(text(key), {"i": uid}) == "lodz soren ls lsexamplecom"
        downgrade(directory=directory, revision="0012")
        with db.engine.connect() as connection:
            assert connection.scalar(text(key), {"i": uid}) == "łodz søren łs lsexamplecom"
        db.engine.dispose()


def test_search_placeholder_reads_in_words(client, admin):
    assert 'placeholder="Order number, customer name or email"' in client.get("/admin/order/").text
    assert 'placeholder="Name, username or email"' in client.get("/admin/customer/").text


def test_order_search_is_one_statement_on_the_search_key(client, admin, people):
    client.get("/admin/order/")
    with statements() as seen:
        assert client.get("/admin/order/", query_string={"search": "obrien"}).status_code == 200
    searched = [s for s in seen if "search_key LIKE" in s]
    assert searched and len(seen) <= 6, seen
    assert not any("username LIKE" in s or "email LIKE" in s for s in seen)  # the key alone, not four columns
