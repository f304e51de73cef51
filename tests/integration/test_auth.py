"""Signing in and out, sessions, throttling, headers: through the real URLs, CSRF on."""

from __future__ import annotations

import logging
import os

import pytest
from itsdangerous import TimestampSigner

from admin_app.extensions import db
from tests import factories as f
from tests.conftest import PASSWORD, AuthActions, csrf_token_from, login_as, require_service


def test_login_page_shows_the_form(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'name="password"' in page.text and 'name="csrf_token"' in page.text


@pytest.mark.parametrize("login", ["staff1", "STAFF1", "staff1@shop.example", "Staff1@Shop.Example"])
def test_login_by_username_or_email_ignoring_case(auth, staff_user, login):
    response = auth.login(login)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert auth.client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/admin/order/?page=2", "/admin/order/?page=2"),
        ("https://evil.example/", "/admin/"),
        ("//evil.example/admin/", "/admin/"),
        ("/\\evil.example", "/admin/"),
        ("javascript:alert(1)", "/admin/"),
        ("admin/order/", "/admin/"),
    ],
)
def test_next_only_follows_paths_on_this_site(auth, staff_user, next_url, expected):
    response = auth.login("staff1", next_url=next_url)
    assert response.headers["Location"] == expected


def test_failures_say_the_same_whether_or_not_the_account_exists(auth, staff_user):
    wrong_password = auth.login("staff1", "not the password")
    no_such_user = auth.login("nobody", "not the password")
    for response in (wrong_password, no_such_user):
        assert response.status_code == 200
        assert "Invalid username or password." in response.text
    assert auth.client.get("/admin/").status_code == 302


def test_inactive_employees_and_customers_cannot_sign_in(auth):
    from admin_app.accounts.services import create_employee

    gone = create_employee("gone", "gone@shop.example", PASSWORD, "admin")
    gone.is_active = False
    customer = f.customer(username="shopper")
    customer.set_password(PASSWORD)
    db.session.commit()
    for username in ("gone", "shopper"):
        response = auth.login(username)
        assert response.status_code == 200 and "Invalid username or password." in response.text
    assert auth.client.get("/admin/").status_code == 302


def test_anonymous_requests_go_to_login_with_next(client):
    response = client.get("/admin/order/?page=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert "next=/admin/order/" in response.headers["Location"]
    assert client.get("/admin/").headers["Location"].startswith("/login")


def test_logout_needs_post_with_csrf_and_ends_the_session(client, staff_user):
    auth = login_as(client, staff_user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/admin/").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/admin/").status_code == 302


def test_login_starts_a_new_session(client, staff_user):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login_as(client, staff_user)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.permanent


def test_session_cookie_flags(client, staff_user, app):
    page = client.get("/login")
    response = client.post("/login", data={"username": "staff1", "password": PASSWORD,
                                           "csrf_token": csrf_token_from(page.text)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookie_when_configured(extra_app):
    secure_app = extra_app(SESSION_COOKIE_SECURE=True)
    with secure_app.app_context():
        client = secure_app.test_client()
        page = client.get("/login", base_url="https://localhost")
        assert "Secure" in page.headers["Set-Cookie"]
        assert "Strict-Transport-Security" in page.headers


def test_idle_sessions_expire(client, staff_user, monkeypatch, app):
    login_as(client, staff_user)
    assert client.get("/admin/").status_code == 200
    later = TimestampSigner.get_timestamp(TimestampSigner("x")) + app.permanent_session_lifetime.total_seconds() + 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(later))
    assert client.get("/admin/").status_code == 302


def test_security_headers_on_every_response(client, staff_user):
    login_as(client, staff_user)
    for url in ("/login", "/admin/", "/admin/product/", "/no-such-page"):
        headers = client.get(url).headers
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]


def test_every_script_tag_carries_the_nonce(client, staff_user):
    login_as(client, staff_user)
    page = client.get("/admin/order/")
    nonce = page.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    scripts = page.text.count("<script")
    assert scripts > 0 and page.text.count(f'nonce="{nonce}"') >= scripts


def test_auth_events_are_recorded(client, staff_user, caplog):
    caplog.set_level(logging.INFO, logger="admin_app.auth")
    auth = AuthActions(client)
    auth.login("staff1", "wrong password!")
    auth.login("staff1")
    auth.logout()
    events = [(r.event, r.username, r.ip) for r in caplog.records if hasattr(r, "event")]
    assert events == [("login_failed", "staff1", "127.0.0.1"), ("login", "staff1", "127.0.0.1"),
                      ("logout", "staff1", "127.0.0.1")]


# --- throttling --------------------------------------------------------------------------


def test_five_failures_lock_the_username(client, staff_user, viewer_user, caplog):
    caplog.set_level(logging.INFO, logger="admin_app.auth")
    auth = AuthActions(client)
    for _ in range(5):
        assert auth.login("staff1", "wrong password!").status_code == 200
    locked = auth.login("staff1")  # even the right password is refused now
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.text
    assert "lockout" in [getattr(r, "event", None) for r in caplog.records]
    # Someone else signs in as usual.
    assert AuthActions(client).login("viewer1").status_code == 302


def test_successful_logins_do_not_count(client, staff_user):
    auth = AuthActions(client)
    for _ in range(7):
        assert auth.login("staff1").status_code == 302
        auth.logout()


def test_twenty_failures_from_one_address_lock_it(app, staff_user):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    auth = AuthActions(client)
    for n in range(20):
        assert auth.login(f"guess{n}", "wrong password!").status_code == 200
    assert auth.login("staff1").status_code == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.10"
    assert AuthActions(other).login("staff1").status_code == 302


def test_lockouts_live_in_redis_and_survive_a_new_process(extra_app, staff_user):
    """With Redis storage the counters are outside the process: a freshly started app
    (as another gunicorn worker would be) sees the same lockout."""
    # The PostgreSQL run's own Redis when it has one, else database 1: CI runs SQLite and
    # PostgreSQL at once, and limiter.reset() here must not clear the other run's counters.
    url = os.environ.get("TEST_RATELIMIT_STORAGE_URI") or "redis://127.0.0.1:6379/1"
    from redis import Redis

    from admin_app.extensions import limiter

    require_service("Redis", lambda: Redis.from_url(url, socket_connect_timeout=1).ping())

    first = extra_app(RATELIMIT_STORAGE_URI=url)
    with first.app_context():
        limiter.reset()
        auth = AuthActions(first.test_client())
        for _ in range(5):
            auth.login("staff1", "wrong password!")
    second = extra_app(RATELIMIT_STORAGE_URI=url)
    with second.app_context():
        assert AuthActions(second.test_client()).login("staff1").status_code == 429
        limiter.reset()


def test_every_inline_handler_on_every_page_is_allowed_by_the_csp(app, client, admin_user):
    """Flask-Admin's templates keep a few inline handlers; each one a page carries must be
    allowed by hash, or its button silently does nothing in the browser."""
    import base64
    import hashlib
    import re

    from tests.integration.test_permissions import model_views, one_record_per_view

    ids = one_record_per_view()
    login_as(client, admin_user)
    for view in model_views(app):
        base = f"/admin/{view.endpoint}"
        for url in (f"{base}/", f"{base}/new/", f"{base}/edit/?id={ids.get(view.endpoint, 1)}"):
            page = client.get(url)
            if page.status_code != 200:
                continue
            policy = page.headers["Content-Security-Policy"]
            handlers = (re.findall(r'\son[a-z]+="([^"]*)"', page.text)
                        + re.findall(r'href="(javascript:[^"]*)"', page.text))
            for source in set(handlers):
                source = source.replace("&#39;", "'").replace("&#x27;", "'")
                digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in policy, f"{url}: {source!r} is blocked by the CSP"
