"""``/login`` and ``/logout``: sign-in for active employees, with throttling and logging."""

from __future__ import annotations

import logging
import secrets

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.security import check_password_hash, generate_password_hash

from admin_app.accounts.auth.forms import LoginForm
from admin_app.accounts.auth.session import end_session, start_session
from admin_app.accounts.auth.throttle import (
    FAILED_SIGN_INS_PER_ADDRESS,
    named_account,
    password_guesses,
    record_failed_guess,
    sign_in_failed,
)
from admin_app.accounts.auth.two_factor_flow import second_step
from admin_app.accounts.models import Employee
from admin_app.core.security import is_same_site_path
from admin_app.extensions import limiter, login_manager

bp = Blueprint("auth", __name__)
# The name log processors filter sign-in events by; kept when the package moved.
log = logging.getLogger("admin_app.auth")

FAILED_LOGIN_MESSAGE = _l("Invalid username or password.")
LOCKED_OUT_MESSAGE = _l("Too many failed sign-in attempts. Please wait 15 minutes and try again.")
_dummy_hashes: dict[str, str] = {}


def dummy_hash() -> str:
    """A hash made with the configured method, checked when the name matches no account
    with a password: a failed sign-in then costs one hash check of the same cost whatever
    the account (unknown, deactivated, customer, employee), so timing tells nothing."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return _dummy_hashes[method]


def safe_next_url(target: str | None) -> str:
    """``target`` when it is a path on this site; otherwise the back office's home."""
    return target if target and is_same_site_path(target) else url_for("admin.index")


def record_auth_event(event: str, username: str) -> None:
    log.info("auth %s username=%r ip=%s", event, username, get_remote_address(),
             extra={"event": event, "username": username, "ip": get_remote_address()})


@bp.route("/login", methods=["GET", "POST"])
@password_guesses
@limiter.limit(FAILED_SIGN_INS_PER_ADDRESS, key_func=get_remote_address, methods=["POST"],
               deduct_when=sign_in_failed, scope="login-ip")
def login() -> Response | str | tuple[str, int]:
    next_url = safe_next_url(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url)
    form = LoginForm()
    if form.validate_on_submit():
        user = named_account(form.username.data)
        # Exactly one hash check on every path, of the configured cost.
        stored = user.password_hash if user is not None and user.password_hash else dummy_hash()
        password_matches = check_password_hash(stored, form.password.data)
        if password_matches and isinstance(user, Employee) and user.is_active:
            return password_accepted(user, next_url)
        record_failed_guess()
        record_auth_event("login_failed", form.username.data)
        flash(str(FAILED_LOGIN_MESSAGE), "danger")
        return render_template("auth/login.html", form=form, next=next_url), 200
    return render_template("auth/login.html", form=form, next=next_url), 400 if form.errors else 200


def password_accepted(user: Employee, next_url: str) -> Response:
    """The second step when the employee has one (a code, or enrolment first), else signed in."""
    if (next_step := second_step(user, next_url)) is not None:
        record_auth_event("password_accepted", user.username)
        return next_step
    start_session(user)
    record_auth_event("login", user.username)
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    if current_user.is_authenticated:
        record_auth_event("logout", current_user.username)
    end_session()
    flash(_("You have been signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def home() -> Response:
    return redirect(url_for("admin.index"))


def too_many_attempts(error: Exception) -> tuple[str, int]:
    """429 for a throttled sign-in: the form again, with a message saying why; for a
    throttled password check on "My account", a page saying why."""
    if request.endpoint == "auth.login":
        record_auth_event("lockout", (request.form.get("username") or "").strip())
        flash(str(LOCKED_OUT_MESSAGE), "danger")
        return render_template("auth/login.html", form=LoginForm(), next=safe_next_url(request.values.get("next"))), 429
    if request.endpoint == "account.index":
        record_auth_event("lockout", current_user.username if current_user.is_authenticated else "")
        return render_template("errors/error.html", code=429, title=_("Too many wrong passwords"),
                               message=_("The current password was typed wrongly too often. Please wait 15 minutes "
                                         "and try again; your password has not been changed.")), 429
    return render_template("errors/error.html", code=429, title=_("Too many requests"),
                           message=_("Too many requests. Please slow down and try again shortly.")), 429


def register_login_manager() -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
