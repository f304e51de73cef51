"""``/login`` and ``/logout``: sign-in for active employees, with throttling and logging."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from admin_app.auth.forms import LoginForm
from admin_app.extensions import limiter
from admin_app.models import Employee
from admin_app.services.users import find_user_by_login

bp = Blueprint("auth", __name__)
log = logging.getLogger("admin_app.auth")

FAILED_LOGIN_MESSAGE = "Invalid username or password."
LOCKED_OUT_MESSAGE = "Too many failed sign-in attempts. Please wait 15 minutes and try again."
# Checked against when the account does not exist, so both cases take as long.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt:1024:8:1")


def safe_next_url(target: str | None) -> str:
    """``target`` when it is a path on this site; otherwise the back office's home."""
    default = url_for("admin.index")
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def _login_username_key() -> str:
    return "login-user:" + (request.form.get("username") or "").strip().lower()[:120]


def _failed(response: Response) -> bool:
    """Only failed attempts count towards a lockout; a successful sign-in redirects."""
    return response.status_code != 302


def record_auth_event(event: str, username: str) -> None:
    log.info("auth %s username=%r ip=%s", event, username, get_remote_address(),
             extra={"event": event, "username": username, "ip": get_remote_address()})


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("5 per 15 minutes", key_func=_login_username_key, methods=["POST"], deduct_when=_failed,
               scope="login-username")
@limiter.limit("20 per 15 minutes", key_func=get_remote_address, methods=["POST"], deduct_when=_failed,
               scope="login-ip")
def login() -> Response | str | tuple[str, int]:
    next_url = safe_next_url(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url)
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user_by_login(form.username.data)
        if isinstance(user, Employee) and user.is_active and user.check_password(form.password.data):
            # A brand-new session: nothing from before sign-in survives (no fixation).
            session.clear()
            login_user(user)
            session.permanent = True
            record_auth_event("login", user.username)
            return redirect(next_url)
        if user is None or not user.password_hash:
            check_password_hash(_DUMMY_HASH, form.password.data)
        record_auth_event("login_failed", form.username.data)
        flash(FAILED_LOGIN_MESSAGE, "danger")
        return render_template("auth/login.html", form=form, next=next_url), 200
    return render_template("auth/login.html", form=form, next=next_url), 400 if form.errors else 200


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    if current_user.is_authenticated:
        record_auth_event("logout", current_user.username)
    logout_user()
    session.clear()
    flash("You have been signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def home() -> Response:
    return redirect(url_for("admin.index"))


def too_many_attempts(error: Exception) -> tuple[str, int]:
    """429 for a throttled sign-in: the form again, with a message saying why."""
    if request.endpoint == "auth.login":
        record_auth_event("lockout", (request.form.get("username") or "").strip())
        flash(LOCKED_OUT_MESSAGE, "danger")
        return render_template("auth/login.html", form=LoginForm(), next=safe_next_url(request.values.get("next"))), 429
    return render_template("errors/error.html", code=429, title="Too many requests",
                           message="Too many requests. Please slow down and try again shortly."), 429


def register_login_manager() -> None:
    from admin_app.extensions import login_manager

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
