"""The one place that touches Flask-Admin's, Flask-Login's or SQLAlchemy's private names.

Each function wraps one private name where the library has no public hook, says why, and is
pinned by a contract test (``tests/unit/test_adapter_contract.py``) that fails with a clear
message when an upgrade changes it.
"""

from __future__ import annotations

from flask import g

from admin_app.extensions import login_manager


def sign_out_for_this_request() -> None:
    """Flask-Login caches the request's user in ``g._login_user`` and has no public way to
    set an anonymous one without touching the session: render this response signed out."""
    g._login_user = login_manager.anonymous_user()
