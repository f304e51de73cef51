"""Shared fixtures: app, a clean database per test, client, CLI runner, users per role,
and (for browser tests) a live server with headless Chromium.

The suite runs on SQLite (a temporary file, so the live server's threads share it) and on
PostgreSQL when ``TEST_DATABASE_URL`` is set. Every test starts from empty tables: rows are
removed after each test, which is cheaper than rebuilding the schema and keeps real commits
(and so real constraint checks) in every test.
"""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session, close_all_sessions

from admin_app import create_app
from admin_app.accounts.models import Employee
from admin_app.accounts.services import create_employee
from admin_app.config import TestingConfig
from admin_app.extensions import db as _db
from admin_app.extensions import limiter

PASSWORD = "correct-horse-battery"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium against a live server")
    config.addinivalue_line("markers", "restarts_postgres: stops and starts the PostgreSQL server itself")


def restarts_postgres_allowed() -> bool:
    """Stopping the server would break anyone else using it, so only a run that owns it
    (``.ci/run``, after its other runs) sets ``FAULT_RESTART_POSTGRES=1``."""
    return os.environ.get("FAULT_RESTART_POSTGRES") == "1"


def pytest_report_header(config: pytest.Config) -> str | None:
    if restarts_postgres_allowed():
        return None
    return "tests marked restarts_postgres left out (FAULT_RESTART_POSTGRES=1 runs them; .ci/run does)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that restart PostgreSQL are left out (deselected, not skipped) unless allowed."""
    if restarts_postgres_allowed():
        return
    left_out = [item for item in items if item.get_closest_marker("restarts_postgres")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("restarts_postgres")]


def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production.

    Tests hold an app context open (for ``db.session``); Flask would reuse it for the
    requests, sharing ``g`` (the signed-in user, the CSRF token) and the database session
    between requests. Running every request in an empty ``contextvars.Context`` gives it
    its own, so tests see what a real browser would."""

    def open(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)


def make_app(url: str, **overrides: Any) -> Flask:
    # Two-factor sign-in is required of no role here, so signing in takes a password as it
    # did; tests/integration/test_two_factor.py turns the requirement on and proves it.
    app = create_app({**{k: getattr(TestingConfig, k) for k in dir(TestingConfig) if k.isupper()},
                      "SQLALCHEMY_DATABASE_URI": url, "TWO_FACTOR_REQUIRED_ROLES": (), **overrides})
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = make_app(database_url(tmp_path_factory), EXPORT_STORAGE_DIR=str(tmp_path_factory.mktemp("exports")))
    with app.app_context():
        reset_schema()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def reset_schema() -> None:
    """Drop whatever an earlier run left (PostgreSQL keeps it) and create the tables."""
    _db.metadata.drop_all(_db.engine)
    with _db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    _db.metadata.create_all(_db.engine)


def empty_tables() -> None:
    _db.session.remove()
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    with _db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
            # Planner statistics (seed-demo's ANALYZE) describe rows that are gone and would
            # steer later tests' query plans; dropping them is a schema change, so every
            # pooled connection forgets them too.
            if connection.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
                connection.execute(text("DROP TABLE sqlite_stat1"))


@pytest.fixture(autouse=True)
def db(app: Flask) -> Iterator[Any]:
    """The database, empty at the start of the test (and emptied again afterwards)."""
    with app.app_context():
        limiter.reset()
        yield _db
        empty_tables()


@pytest.fixture
def extra_app(app: Flask) -> Iterator[Any]:
    """Build more apps on the suite's database (other settings, "another process");
    their connections are closed and the shared limiter is given back afterwards."""
    made: list[Flask] = []

    def build(url: str | None = None, **overrides: Any) -> Flask:
        made.append(make_app(url or app.config["SQLALCHEMY_DATABASE_URI"], **overrides))
        return made[-1]

    yield build
    # Sessions of theirs still open anywhere (a test client's request context, a user object
    # kept in ``g``) hold connections their engines' dispose() cannot reach: close them all.
    close_all_sessions()
    for other in made:
        with other.app_context():
            _db.session.remove()
            _db.engine.dispose()
    limiter.init_app(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


def _employee(role: str) -> Employee:
    return create_employee(f"{role}1", f"{role}1@shop.example", PASSWORD, role,
                           first_name=role.title(), last_name="Tester")


@pytest.fixture
def admin_user(db: Any) -> Employee:
    return _employee("admin")


@pytest.fixture
def staff_user(db: Any) -> Employee:
    return _employee("staff")


@pytest.fixture
def viewer_user(db: Any) -> Employee:
    return _employee("viewer")


CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token_from(html: str) -> str:
    """The CSRF token a page's form carries, as a browser would submit it."""
    match = CSRF_PATTERN.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1) or match.group(2)


class AuthActions:
    """Sign in and out through the real forms, CSRF token and all (flaskr's AuthActions)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = PASSWORD, next_url: str | None = None):
        page = self.client.get("/login")
        data = {"username": username, "password": password, "csrf_token": csrf_token_from(page.text)}
        if next_url is not None:
            data["next"] = next_url
        return self.client.post("/login", data=data)

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": self.token()})

    def token(self) -> str:
        """A valid CSRF token for this client's session."""
        return csrf_token_from(self.client.get("/admin/account/").text)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any):
        """POST like a browser would: with the session's CSRF token."""
        return self.client.post(url, data={"csrf_token": self.token(), **(data or {})}, **kwargs)


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def login_as(client: FlaskClient, employee: Employee) -> AuthActions:
    actions = AuthActions(client)
    response = actions.login(employee.username)
    assert response.status_code == 302, response.text
    return actions


class _FormReader(HTMLParser):
    """Collects the values a browser would submit from the page's model form."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, Any] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.values[name] = a.get("value") or "y"
            else:
                self.values[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            # Browsers drop the newline that opens a textarea's content.
            first = not self.values[self._textarea]
            self.values[self._textarea] += data.removeprefix("\r\n").removeprefix("\n") if first else data


def read_form(html: str) -> dict[str, Any]:
    """The form fields of a page as a browser would post them (unchanged)."""
    reader = _FormReader()
    reader.feed(html)
    return reader.values


def require_service(name: str, check: Any) -> None:
    """Tests that need PostgreSQL or Redis on a developer's machine: skipped when the
    service is not there, except in CI (``CI=true``), where its absence fails the run."""
    try:
        check()
    except Exception as error:  # any failure means the service is not there
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI: {error}")
        pytest.skip(f"{name} is not running here ({error.__class__.__name__})")


@contextmanager
def meanwhile(change: Callable[[Session], Any]) -> Iterator[None]:
    """Two sessions racing, deterministically: ``change`` runs in a session of its own and
    commits just before the app's session first flushes inside the block (after it has
    read what it is about to write, before it writes)."""
    ran: list[bool] = []

    def before_flush(session: Any, flush_context: Any, instances: Any) -> None:
        if not ran:
            ran.append(True)
            with Session(_db.engine) as other:
                change(other)
                other.commit()

    # On the scoped session: its sessions only (the app's), not the plain one above.
    event.listen(_db.session, "before_flush", before_flush)
    try:
        yield
    finally:
        event.remove(_db.session, "before_flush", before_flush)
    assert ran, "the app's session never flushed: nothing raced"
