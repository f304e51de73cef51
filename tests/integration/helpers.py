"""What the view tests share: posting a form as a browser does, and what users must never see."""

from __future__ import annotations

import re
from typing import Any

from admin_app.accounts.services import create_employee
from admin_app.extensions import db
from tests.conftest import PASSWORD, csrf_token_from, login_as

# Text that means a database error reached the page.
RAW_SQL = ("IntegrityError", "UNIQUE constraint", "duplicate key", "CHECK constraint", "NOT NULL constraint",
           "NumericValueOutOfRange", "psycopg", "sqlite3", "Traceback")


def submit(client: Any, url: str, data: dict[str, Any]) -> Any:
    """GET the form page, then POST it back with its CSRF token, its loaded version and ``data``."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    hidden = dict(re.findall(r'<input[^>]*name="(loaded_version)"[^>]*value="([^"]*)"', page.text))
    return client.post(url, data={"csrf_token": csrf_token_from(page.text), **hidden, **data})


def delete(client: Any, endpoint: str, record_id: int) -> Any:
    page = client.get(f"/admin/{endpoint}/")
    return client.post(f"/admin/{endpoint}/delete/", data={"csrf_token": csrf_token_from(page.text),
                                                           "id": str(record_id)})


def assert_no_raw_sql(page: str) -> None:
    for marker in RAW_SQL:
        assert marker not in page, f"{marker!r} shown to the user"


def gone(model: Any, record_id: int) -> bool:
    """Deleted for the user: no row, or a row marked deleted (soft delete)."""
    db.session.expire_all()
    row = db.session.get(model, record_id)
    return row is None or getattr(row, "deleted_at", None) is not None


def two_staff(app: Any) -> tuple[Any, Any]:
    """Two staff members, anna and bert, each signed in with a client of their own."""
    anna = create_employee("anna", "anna@shop.example", PASSWORD, "staff", first_name="Anna", last_name="A")
    bert = create_employee("bert", "bert@shop.example", PASSWORD, "staff", first_name="Bert", last_name="B")
    return login_as(app.test_client(), anna), login_as(app.test_client(), bert)
