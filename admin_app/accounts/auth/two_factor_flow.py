"""Where two-factor sign-in sits in the sign-in flow.

After a correct password, :func:`second_step` decides what happens next:

- the employee has a second factor: no session yet; the browser's (signed) Flask session
  remembers who typed the password, for ``PENDING_MINUTES``, and the second step asks for
  a code (:mod:`admin_app.accounts.auth.two_factor_views`);
- the employee's role is in ``TWO_FACTOR_REQUIRED_ROLES`` and they have none: they are
  signed in but held at enrolment (:func:`hold_for_enrolment`): every other page sends
  them there until it is done (or they sign out);
- otherwise: ``None``, the password was enough.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, redirect, request, session, url_for
from flask_login import current_user

from admin_app.accounts.auth.session import start_session
from admin_app.accounts.auth.two_factor import has_two_factor, two_factor_required
from admin_app.accounts.models import Employee
from admin_app.core.security import is_static_endpoint

PENDING = "two_factor_pending"
ENROLMENT_REQUIRED = "two_factor_enrolment_required"
PENDING_MINUTES = 5
#: Where an employee held at enrolment may go.
ENROLMENT_ENDPOINTS = frozenset({"security.two_factor", "auth.logout"})


def second_step(employee: Employee, next_url: str) -> Response | None:
    """What follows a correct password for ``employee`` (see the module's docstring)."""
    if has_two_factor(employee.id):
        session.clear()  # nothing from before survives, as at sign-in
        session[PENDING] = {"user_id": employee.id, "at": int(time.time()), "next": next_url}
        return redirect(url_for("two_factor.verify"))
    if two_factor_required(employee):
        start_session(employee)
        session[ENROLMENT_REQUIRED] = True
        return redirect(url_for("security.two_factor"))
    return None


def pending_sign_in() -> dict[str, Any] | None:
    """Who typed a correct password in this browser within the last ``PENDING_MINUTES``."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_MINUTES * 60:
        return None
    return pending


def enrolment_done() -> None:
    session.pop(ENROLMENT_REQUIRED, None)


def hold_for_enrolment() -> Response | None:
    """``before_request``: an employee who must enrol first goes to enrolment."""
    if not session.get(ENROLMENT_REQUIRED) or is_static_endpoint(request.endpoint):
        return None
    if request.endpoint in ENROLMENT_ENDPOINTS or not current_user.is_authenticated:
        return None
    return redirect(url_for("security.two_factor"))


def register_enrolment_hold(app: Flask) -> None:
    """After the signed-in employee is loaded (``register_session_loading``)."""
    app.before_request(hold_for_enrolment)
