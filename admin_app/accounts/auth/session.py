"""How a browser session maps to an employee, and when it stops doing so.

Every sign-in creates a :class:`~admin_app.accounts.models.UserSession` row; the signed session
cookie keeps a random key whose SHA-256 is that row's id (Flask-Login's ``get_id``). Each
request reads the row and its employee in one statement; no row, an inactive employee or
a session idle past ``PERMANENT_SESSION_LIFETIME`` means signed out. So a session ends on
the server: sign-out deletes the row (a copy of the cookie is worth nothing afterwards),
and a password change or deactivation deletes all of the employee's rows (see
``accounts.models``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import Flask, current_app, request, session
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from sqlalchemy import delete, select, update
from sqlalchemy.orm import undefer
from sqlalchemy.sql.expression import Executable

from admin_app.accounts.auth.active_sessions import forget_old_session_details
from admin_app.accounts.models import Employee, UserSession
from admin_app.core.models import utcnow
from admin_app.core.security import is_static_endpoint
from admin_app.extensions import db, login_manager

# "Last seen" is written at most this often: one UPDATE a minute per active session, not one
# per request. Idle timeouts are therefore exact to within this much.
LAST_SEEN_EVERY = timedelta(minutes=1)
USER_AGENT_LENGTH = 200


def record_id(session_key: str) -> str:
    """The ``user_sessions.id`` of a cookie's session key."""
    return hashlib.sha256(session_key.encode("utf-8", "surrogatepass")).hexdigest()


def idle_limit() -> timedelta:
    return current_app.permanent_session_lifetime


def start_session(employee: Employee) -> None:
    """Sign ``employee`` in on this browser: a brand-new Flask session (nothing from before
    sign-in survives: no fixation) bound to a new session record. Expired records of
    everyone are cleared out on the way."""
    now = utcnow()
    key = secrets.token_urlsafe(32)
    db.session.execute(delete(UserSession).where(UserSession.last_seen_at < now - idle_limit()))
    forget_old_session_details(now)  # the retention of addresses and browsers, on the same schedule
    db.session.add(UserSession(
        id=record_id(key), user_id=employee.id, created_at=now, last_seen_at=now,
        ip_address=(get_remote_address() or "")[:45] or None,
        user_agent=(request.user_agent.string or "")[:USER_AGENT_LENGTH] or None,
    ))
    db.session.commit()
    employee.session_key = key
    session.clear()
    login_user(employee)
    session.permanent = True


def end_session() -> None:
    """Sign this browser out: its session record goes, so the cookie is worth nothing, even
    a copy of it kept elsewhere."""
    key = session.get("_user_id")
    if isinstance(key, str) and key:
        db.session.execute(delete(UserSession).where(UserSession.id == record_id(key)))
        db.session.commit()
    logout_user()
    session.clear()


@login_manager.user_loader
def load_employee(session_key: str) -> Employee | None:
    """The employee of this session key, in one statement with the session record; ``None``
    (signed out) when the record is gone, idle too long, or the employee inactive."""
    if not isinstance(session_key, str) or not session_key:
        return None
    session_id = record_id(session_key)
    found = db.session.execute(
        select(Employee, UserSession.last_seen_at)
        .join(UserSession, UserSession.user_id == Employee.id)
        .where(UserSession.id == session_id, Employee.is_active.is_(True))
        # Preferences are deferred for every user but the signed-in one (page size, theme).
        .options(undefer(Employee.preferences))
    ).first()
    if found is None:
        return None
    employee, last_seen = found
    now = utcnow()
    if now - last_seen > idle_limit():
        _write(delete(UserSession).where(UserSession.id == session_id))
        return None
    if now - last_seen >= LAST_SEEN_EVERY:
        _write(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))
    employee.session_key = session_key
    return employee


def _write(statement: Executable) -> None:
    """Its own short transaction: the user is loaded lazily, at any point of a request, and
    must not commit (or roll back) the request's own unit of work."""
    with db.engine.begin() as connection:
        connection.execute(statement)


def register_session_loading(app: Flask) -> None:
    """Read the signed-in employee at the start of every request (static files aside),
    before a view writes anything: the loader's own "last seen" write, in its own
    transaction, then never waits for the request's (SQLite has one writer at a time)."""

    @app.before_request
    def load_signed_in_employee() -> None:
        # Not for static files, nor the health check (it must answer for itself when the
        # database is down).
        if not is_static_endpoint(request.endpoint) and request.blueprint != "health":
            current_user._get_current_object()
