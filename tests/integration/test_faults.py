"""Faults: the database goes away or is locked mid-work; an export is cut off by the client.

The PostgreSQL tests use a database of their own on the server CI provides (also in the
SQLite run), so dropping its connections or restarting the server cannot disturb the rest
of the suite's data.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from admin_app.accounts.services import create_employee
from admin_app.extensions import db
from tests import factories as f
from tests.conftest import PASSWORD, AuthActions, require_service

SERVER = os.environ.get("FAULT_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def postgres_app(extra_app):
    """An app on a brand-new PostgreSQL database, with a signed-in staff member."""
    name = f"fault_{uuid.uuid4().hex[:8]}"
    server = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    require_service("PostgreSQL", lambda: server.connect().close())
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    app = extra_app(str(make_url(SERVER).set(database=name)))
    with app.app_context():
        db.create_all()
        create_employee("pgstaff", "pgstaff@shop.example", PASSWORD, "staff")
        f.product(name="Survivor lamp")
        client = app.test_client()
        assert AuthActions(client).login("pgstaff").status_code == 302
        yield app, client, name, server
        db.session.remove()
        db.engine.dispose()
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def drop_connections(server, name: str) -> int:
    with server.connect() as connection:
        return len(connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}).all())


def test_dropped_connections_cost_no_failed_request(postgres_app):
    app, client, name, server = postgres_app
    assert client.get("/admin/product/").status_code == 200
    assert drop_connections(server, name) >= 1  # what a database restart does to every worker
    page = client.get("/admin/product/")
    assert page.status_code == 200 and "Survivor lamp" in page.text  # pre-ping reconnected
    assert client.get("/healthz").status_code == 200


def pg_cluster() -> tuple[str, str] | None:
    if not shutil.which("pg_ctlcluster") or not os.path.isdir("/etc/postgresql"):
        return None
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return version, "main"


@pytest.mark.restarts_postgres
def test_postgres_restart_shows_a_clear_page_then_recovers(postgres_app):
    app, client, name, server = postgres_app
    cluster = pg_cluster()
    assert cluster, "pg_ctlcluster not found"
    assert client.get("/admin/product/").status_code == 200
    server.dispose()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "stop", "-m", "fast"], check=True)
    try:
        down = client.get("/admin/product/")
        assert down.status_code == 503
        assert "Database unavailable" in down.text and "Traceback" not in down.text
        assert client.get("/healthz").status_code == 503
    finally:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "start"], check=True)
        for _ in range(60):
            if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode == 0:
                break
            time.sleep(0.5)
    # Back without restarting the app: at most one failed request, then business as usual.
    statuses = [client.get("/admin/product/").status_code for _ in range(2)]
    assert statuses[-1] == 200 and statuses.count(503) <= 1
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def sqlite_app(extra_app, tmp_path):
    path = tmp_path / "locked.db"
    app = extra_app(f"sqlite:///{path}", SQLITE_BUSY_TIMEOUT=0.2)
    with app.app_context():
        db.create_all()
        create_employee("sqstaff", "sqstaff@shop.example", PASSWORD, "staff")
        product = f.product(name="Locked lamp")
        client = app.test_client()
        auth = AuthActions(client)
        assert auth.login("sqstaff").status_code == 302
        yield app, client, auth, path, product.id
        db.session.remove()
        db.engine.dispose()


def test_a_locked_sqlite_database_gives_a_clear_page_then_recovers(sqlite_app):
    app, client, auth, path, product_id = sqlite_app
    token = auth.token()
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        locked = client.post("/admin/product/delete/", data={"id": str(product_id), "csrf_token": token},
                             follow_redirects=True)
        assert locked.status_code in (200, 503)
        assert "could not be saved" in locked.text or "Database unavailable" in locked.text
        assert "Traceback" not in locked.text and "sqlite3" not in locked.text
    finally:
        blocker.rollback()
        blocker.close()
    with app.app_context():
        from admin_app.catalog.models import Product

        assert db.session.get(Product, product_id).deleted_at is None  # nothing half-done
    # Once the lock is gone the same request works, without restarting anything.
    assert client.post("/admin/product/delete/", data={"id": str(product_id), "csrf_token": token}).status_code == 302
    with app.app_context():
        deleted = db.session.get(Product, product_id, execution_options={"include_deleted": True})
        assert deleted.deleted_at is not None


def test_a_list_on_a_locked_database_says_so(sqlite_app):
    app, client, auth, path, product_id = sqlite_app
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        page = client.get("/admin/product/")
        # WAL lets readers through a writer's lock; without WAL it would be a clear 503.
        assert page.status_code in (200, 503)
        assert "Traceback" not in page.text
    finally:
        blocker.rollback()
        blocker.close()
    assert client.get("/admin/product/").status_code == 200


def test_an_export_cut_off_by_the_client_leaves_no_open_transaction(postgres_app):
    app, client, name, server = postgres_app
    with app.app_context():
        f.many_orders(300)
    response = client.get("/admin/order/export/csv/", buffered=False)
    chunks = iter(response.response)
    assert next(chunks).startswith(b"\xef\xbb\xbf")
    response.close()  # the browser went away mid-download
    with server.connect() as connection:
        busy = connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND state LIKE 'idle in transaction%'"),
            {"name": name}).scalar()
    assert busy == 0
    with app.app_context():
        assert db.engine.pool.checkedout() == 0
