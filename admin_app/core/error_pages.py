"""Friendly error pages that never show a stack trace or SQL."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError

from admin_app.core.adapter import sign_out_for_this_request
from admin_app.core.i18n import format_number
from admin_app.extensions import db

PAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. If you submitted a form, reload it and try "
                                "again.")),
    403: (_l("Forbidden"), _l("Your account does not have permission to do this.")),
    404: (_l("Not found"), _l("There is nothing at this address.")),
    405: (_l("Method not allowed"), _l("This address does not accept that kind of request.")),
    500: (_l("Something went wrong"), _l("The error has been logged. Please try again in a moment.")),
}


def render_error(error: Exception) -> tuple[str, int]:
    code = getattr(error, "code", 500) or 500
    title, message = PAGES.get(code, PAGES[500])
    return render_template("errors/error.html", code=code, title=title, message=message), code


def too_large(error: Exception) -> tuple[str, int]:
    limit = request.max_content_length or 0
    return render_template(
        "errors/error.html", code=413, title=_("Too large to send"),
        message=_("What was sent is larger than this page accepts (at most %(size)s MB). Nothing was saved: "
                  "shorten the longest text and try again.", size=format_number(limit / 1024 / 1024))), 413


def database_unavailable(error: OperationalError) -> tuple[str, int]:
    """The database went away or is locked: say so (503), and hand the connection back
    so the next request starts clean (no restart needed)."""
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone already; it is discarded
        db.session.remove()
    current_app.logger.error("database unavailable: %s", error.orig)
    # Render as signed out: Flask-Login would otherwise load the user from the very
    # database that is unavailable.
    sign_out_for_this_request()
    return render_template("errors/error.html", code=503, title=_("Database unavailable"),
                           message=_("The database cannot be reached right now. Nothing was saved; "
                                     "please try again in a moment.")), 503


def register_error_pages(app: Flask) -> None:
    for code in PAGES:
        app.register_error_handler(code, render_error)
    app.register_error_handler(413, too_large)
    app.register_error_handler(OperationalError, database_unavailable)

