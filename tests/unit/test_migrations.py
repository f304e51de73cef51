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

from admin_app.database import is_in_models
from admin_app.extensions import db
from admin_app.models import utcnow
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
                         "ix_users_last_name_trgm", "ix_products_name_trgm", "ix_products_sku_trgm"}
        connection.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table: make the choice visible
        plan = "\n".join(connection.execute(text(
            "EXPLAIN SELECT id FROM users WHERE username ILIKE '%anna.vogel%' "
            "OR email ILIKE '%anna.vogel%'")).scalars())
        assert "ix_users_username_trgm" in plan and "ix_users_email_trgm" in plan, plan
