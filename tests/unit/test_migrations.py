"""The checked-in migrations build, from nothing, exactly the schema the models describe."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

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
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        # Expression indexes are invisible to autogenerate: check what they do instead.
        insert_user = text("INSERT INTO users (type, username, email, preferences, created_at, updated_at) "
                           "VALUES ('customer', :name, :email, '{}', :now, :now)")
        now = utcnow()
        with db.engine.begin() as connection:
            connection.execute(insert_user, {"name": "Ann", "email": "ann@example.com", "now": now})
        for name, email in (("ANN", "other@example.com"), ("other", "ANN@example.com")):
            with pytest.raises(IntegrityError), db.engine.begin() as connection:
                connection.execute(insert_user, {"name": name, "email": email, "now": now})
        downgrade(directory=app.extensions["migrate"].directory, revision="base")
        with db.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()
