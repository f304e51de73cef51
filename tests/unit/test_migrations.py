"""The checked-in migrations build, from nothing, exactly the schema the models describe."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import bindparam, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from admin_app.core.database import is_in_models
from admin_app.core.models import utcnow
from admin_app.extensions import db
from tests.conftest import make_app


@pytest.fixture
def empty_database_url(tmp_path):
    """A brand-new empty database of the kind the suite runs on."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"migration_test_{uuid.uuid4().hex[:8]}"
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield str(make_url(url).set(database=name))
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()


# SQLite's reflection cannot read expression indexes; that is why they are checked by name.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_upgrade_from_nothing_matches_models_and_downgrades(empty_database_url):
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "include_object": is_in_models})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        # Expression indexes are invisible to autogenerate: check what they do instead.
        insert_user = text("INSERT INTO users (type, username, email, preferences, created_at, updated_at) "
                           "VALUES ('customer', :name, :email, '{}', :now, :now)"
                           # The column's own type turns the datetime into what each database
                           # stores (Python 3.12 deprecates sqlite3's implicit datetime adapter).
                           ).bindparams(bindparam("now", type_=db.metadata.tables["users"].c.created_at.type))
        now = utcnow()
        with db.engine.begin() as connection:
            connection.execute(insert_user, {"name": "Ann", "email": "ann@example.com", "now": now})
        for name, email in (("ANN", "other@example.com"), ("other", "ANN@example.com")):
            with pytest.raises(IntegrityError), db.engine.begin() as connection:
                connection.execute(insert_user, {"name": name, "email": email, "now": now})
        if db.engine.dialect.name == "postgresql":
            assert_substring_search_uses_trigram_indexes()
        downgrade(directory=app.extensions["migrate"].directory, revision="base")
        with db.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def assert_substring_search_uses_trigram_indexes() -> None:
    """On PostgreSQL the lists' substring searches (``ILIKE '%...%'``) can be answered from
    trigram indexes instead of reading the whole table."""
    with db.engine.begin() as connection:
        names = set(connection.execute(
            text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%\\_trgm'")).scalars())
        assert names == {"ix_users_username_trgm", "ix_users_email_trgm", "ix_users_first_name_trgm",
                         "ix_users_last_name_trgm", "ix_products_name_trgm", "ix_products_sku_trgm",
                         "ix_users_search_key_trgm"}  # 0012: the people search
        connection.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table: make the choice visible
        plan = "\n".join(connection.execute(text(
            "EXPLAIN SELECT id FROM users WHERE username ILIKE '%anna.vogel%' "
            "OR email ILIKE '%anna.vogel%'")).scalars())
        assert "ix_users_username_trgm" in plan and "ix_users_email_trgm" in plan, plan


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_0010_keeps_one_default_address_and_ties_past_entries_to_their_whole(empty_database_url):
    """Data from before 0010: a customer with three default addresses keeps the oldest; the
    history entries of order items and addresses name their order or customer, also for an
    item deleted since (its foreign key is read from the entry's own changes)."""
    app = make_app(empty_database_url)
    with app.app_context():
        directory = app.extensions["migrate"].directory
        upgrade(directory=directory, revision="0009")
        tables, now = db.metadata.tables, utcnow()
        stamps = {"created_at": now, "updated_at": now}
        with db.engine.begin() as connection:
            def add(table: str, **values: object) -> int:
                return connection.execute(tables[table].insert().values(**values)).inserted_primary_key[0]

            ada = add("users", type="customer", username="ada", email="ada@example.com", **stamps)
            bob = add("users", type="customer", username="bob", email="bob@example.com", **stamps)
            place = {"city": "Berlin", "state": "", "zip_code": "10115", "country": "Germany", **stamps}
            homes = [add("addresses", user_id=ada, street=f"Home {n}", is_default=True, **place) for n in range(3)]
            bobs = add("addresses", user_id=bob, street="Bob 1", is_default=True, **place)
            product = add("products", name="Lamp", price=1, stock=1, **stamps)
            order = add("orders", user_id=ada, address_id=homes[0], order_date=now, status="pending",
                        shipping_fee=0, **stamps)
            item = add("order_items", order_id=order, product_id=product, quantity=1, price=1)
            log = [("OrderItem", item, {"quantity": [1, 2]}), ("OrderItem", 999, {"order_id": [order, None]}),
                   ("Address", homes[1], {"street": ["x", "Home 1"]}), ("Product", product, {"stock": [0, 1]})]
            for entity_type, entity_id, changes in log:
                add("audit_log", actor_label="system", action="update", entity_type=entity_type,
                    entity_id=str(entity_id), changes=changes, created_at=now)
        upgrade(directory=directory)
        with db.engine.connect() as connection:
            defaults = connection.execute(text(
                "SELECT id, version_id FROM addresses WHERE is_default ORDER BY id")).all()
            assert defaults == [(homes[0], 1), (bobs, 1)]
            wholes = connection.execute(text(
                "SELECT entity_type, entity_id, part_of_type, part_of_id FROM audit_log ORDER BY id")).all()
        assert wholes == [("OrderItem", str(item), "Order", str(order)), ("OrderItem", "999", "Order", str(order)),
                          ("Address", str(homes[1]), "Customer", str(ada)), ("Product", str(product), None, None)]
        downgrade(directory=directory, revision="0010-1")  # the data stays; the new columns and index go
        with db.engine.connect() as connection:
            schema = inspect(connection)
            assert {"part_of_type", "part_of_id"}.isdisjoint(c["name"] for c in schema.get_columns("audit_log"))
            assert "uq_addresses_user_id_default" not in {i["name"] for i in schema.get_indexes("addresses")}
            assert connection.scalar(text("SELECT count(*) FROM audit_log")) == 4
        db.engine.dispose()
