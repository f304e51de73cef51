"""Pages of two-factor sign-in and of sessions.

- ``/login/two-factor``: the second sign-in step (a TOTP code or a recovery code),
  throttled like the password: 5 wrong codes per account and 20 failed steps per address
  in 15 minutes.
- My account › two-factor sign-in (``/admin/account/security/two-factor/``): enrolment
  with a QR code drawn on the page and the secret as text, confirmed by a first code; the
  ten recovery codes are shown once, on the answer to that confirmation.
- My account's sessions section (``admin/account_security.html``): end one session or
  all others.
- An employee's sign-in security, for admins (``/admin/employee-security/<id>/``, linked
  from the Employees list): end all their sessions; reset their second factor after typing
  one's own password (recorded in their history).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, abort, flash, redirect, render_template, session, url_for
from flask_admin import Admin, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_limiter.util import get_remote_address
from flask_login import current_user

from admin_app.accounts.auth.active_sessions import end_session_of, end_sessions_of, sessions_of
from admin_app.accounts.auth.session import record_id, start_session
from admin_app.accounts.auth.throttle import (
    FAILED_SIGN_INS_PER_ADDRESS,
    GUESSES_PER_ACCOUNT,
    guess_failed,
    password_guesses,
    record_failed_guess,
    sign_in_failed,
)
from admin_app.accounts.auth.two_factor import (
    TwoFactorError,
    check_second_factor,
    decrypt_secret,
    encrypt_secret,
    enrol,
    grouped,
    has_two_factor,
    new_secret,
    provisioning_uri,
    qr_code_svg,
    recovery_codes_left,
    reset_two_factor,
    two_factor_required,
)
from admin_app.accounts.auth.two_factor_flow import PENDING, enrolment_done, pending_sign_in, register_enrolment_hold
from admin_app.accounts.auth.two_factor_forms import (
    ConfirmWithPasswordForm,
    EndSessionForm,
    EnrolForm,
    SecondFactorForm,
)
from admin_app.accounts.auth.views import LOCKED_OUT_MESSAGE, record_auth_event
from admin_app.accounts.models import Employee
from admin_app.core.views import ADMIN_ONLY, ShopBaseView
from admin_app.extensions import db, limiter

bp = Blueprint("two_factor", __name__)

ENROLMENT_SECRET = "two_factor_enrolment_secret"  # encrypted: the session cookie is only signed
WRONG_CODE_MESSAGE = _l("That code is not valid, or it has been used already.")
EXPIRED_MESSAGE = _l("Your sign-in took too long. Please sign in again.")


def pending_account_key() -> str:
    pending = pending_sign_in()
    return f"account:{pending['user_id']}" if pending else "account:none"


# --- the second sign-in step --------------------------------------------------------------


@bp.route("/login/two-factor", methods=["GET", "POST"])
@limiter.limit(GUESSES_PER_ACCOUNT, key_func=pending_account_key, methods=["POST"], deduct_when=guess_failed,
               scope="second-factor-guesses")
@limiter.limit(FAILED_SIGN_INS_PER_ADDRESS, key_func=get_remote_address, methods=["POST"],
               deduct_when=sign_in_failed, scope="second-factor-ip")
def verify() -> Response | tuple[str, int]:
    pending = pending_sign_in()
    employee = db.session.get(Employee, pending["user_id"]) if pending else None
    if employee is None or not employee.is_active:
        session.pop(PENDING, None)
        flash(EXPIRED_MESSAGE, "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        used = check_second_factor(employee.id, form.code.data)
        if used is not None:
            next_url = pending["next"]
            start_session(employee)  # clears the pending sign-in with the rest of the old session
            record_auth_event("login", employee.username)
            if used == "recovery":
                flash(ngettext("You signed in with a recovery code; %(num)d is left. If your phone is lost, ask an "
                               "admin to reset your second factor.",
                               "You signed in with a recovery code; %(num)d are left. If your phone is lost, ask an "
                               "admin to reset your second factor.", recovery_codes_left(employee.id)), "warning")
            return redirect(next_url)
        record_failed_guess()
        record_auth_event("two_factor_failed", employee.username)
        form.code.errors.append(WRONG_CODE_MESSAGE)
    status = 400 if form.errors else 200
    return render_template("auth/two_factor.html", form=form), status


@bp.errorhandler(429)
def too_many_codes(error: Exception) -> tuple[str, int]:
    record_auth_event("lockout", "")
    flash(LOCKED_OUT_MESSAGE, "danger")
    return render_template("auth/two_factor.html", form=SecondFactorForm()), 429


# --- My account: enrolment and sessions ---------------------------------------------------


class SecurityView(ShopBaseView):
    """The signed-in employee's own second factor and sessions (every role)."""

    write_roles = ShopBaseView.read_roles

    def is_visible(self) -> bool:
        return False  # reached from My account

    @expose("/")
    def index(self) -> Response:
        return redirect(url_for("account.index"))

    @expose("/two-factor/", methods=["GET", "POST"])
    def two_factor(self) -> Any:
        employee = current_user._get_current_object()
        if has_two_factor(employee.id):
            enrolment_done()
            return redirect(url_for("account.index"))
        secret = self._enrolment_secret()
        form = EnrolForm()
        if form.validate_on_submit():
            try:
                codes = enrol(employee, secret, form.code.data)
            except TwoFactorError as error:
                form.code.errors.append(str(error))
            else:
                session.pop(ENROLMENT_SECRET, None)
                enrolment_done()
                record_auth_event("two_factor_enrolled", employee.username)
                return self.render("admin/two_factor_recovery_codes.html", codes=codes)
        status = 400 if form.errors else 200
        return self.render("admin/two_factor_enrol.html", form=form, secret=grouped(secret),
                           qr_code=qr_code_svg(provisioning_uri(employee, secret)),
                           required=two_factor_required(employee)), status

    @staticmethod
    def _enrolment_secret() -> str:
        """The secret being enrolled in this browser: the same across reloads and a wrong
        first code, kept encrypted in the session until enrolment is done."""
        stored = session.get(ENROLMENT_SECRET)
        if isinstance(stored, str):
            try:
                return decrypt_secret(stored)
            except TwoFactorError:
                pass  # made with a key no longer configured: start again
        secret = new_secret()
        session[ENROLMENT_SECRET] = encrypt_secret(secret)
        return secret

    @expose("/sessions/end", methods=["POST"])
    def end_session(self) -> Response:
        form = EndSessionForm()
        current = record_id(current_user.session_key or "")
        if not form.validate_on_submit() or not form.session_id.data:
            abort(400)
        if form.session_id.data == current:
            flash(_("This is the session you are using: sign out to end it."), "info")
        elif end_session_of(current_user.id, form.session_id.data):
            flash(_("The session has been ended: that browser is signed out."), "success")
        else:
            flash(_("That session had already ended."), "info")
        return redirect(url_for("account.index"))

    @expose("/sessions/end-others", methods=["POST"])
    def end_other_sessions(self) -> Response:
        if not EndSessionForm().validate_on_submit():
            abort(400)
        ended = end_sessions_of(current_user.id, keep=record_id(current_user.session_key or ""))
        flash(f"{ended} other session(s) ended.", "success")
        return redirect(url_for("account.index"))


def account_security() -> dict[str, Any]:
    """What My account shows about the signed-in employee's second factor and sessions."""
    employee = current_user._get_current_object()
    enrolled = has_two_factor(employee.id)
    return {
        "enrolled": enrolled,
        "required": two_factor_required(employee),
        "recovery_codes_left": recovery_codes_left(employee.id) if enrolled else 0,
        "sessions": sessions_of(employee.id, current_id=record_id(employee.session_key or "")),
        "form": EndSessionForm(),
    }


# --- admins: another employee's sign-in security -------------------------------------------


class EmployeeSecurityView(ShopBaseView):
    """An employee's second factor and sessions, for admins."""

    read_roles = ADMIN_ONLY
    write_roles = ADMIN_ONLY

    def is_visible(self) -> bool:
        return False  # reached from the Employees list

    def _employee(self, employee_id: str) -> Employee:
        # A plain path segment, not ``<int:>``: Flask-Admin builds row-action URLs with a
        # placeholder id for its list templates.
        valid = employee_id.isdigit() and len(employee_id) < 10
        employee = db.session.get(Employee, int(employee_id)) if valid else None
        if employee is None:
            abort(404)
        return employee

    def _page(self, employee: Employee, form: ConfirmWithPasswordForm, status: int = 200) -> tuple[str, int]:
        return self.render(
            "admin/employee_security.html", employee=employee, form=form, end_form=EndSessionForm(),
            enrolled=has_two_factor(employee.id), sessions=sessions_of(employee.id),
            is_self=employee.id == current_user.id,
        ), status

    @expose("/")
    def index(self) -> Response:
        return redirect(url_for("employee.index_view"))

    @expose("/<employee_id>/")
    def employee(self, employee_id: str) -> tuple[str, int]:
        return self._page(self._employee(employee_id), ConfirmWithPasswordForm())

    @expose("/<employee_id>/reset", methods=["POST"])
    @password_guesses  # a wrong password here counts against the admin's own account
    def reset(self, employee_id: str) -> Any:
        employee = self._employee(employee_id)
        form = ConfirmWithPasswordForm()
        if employee.id == current_user.id:
            abort(403)  # one's own second factor is reset by another admin (or the CLI)
        if not form.validate_on_submit():
            return self._page(employee, form, 400)
        if not current_user.check_password(form.password.data):
            record_failed_guess()
            form.password.errors.append(_("This is not your password."))
            return self._page(employee, form, 400)
        if reset_two_factor(employee):
            record_auth_event("two_factor_reset", employee.username)
            flash(_("The second factor of %(username)s has been reset and their sessions ended; they set up a "
                    "new one at their next sign-in.", username=employee.username), "success")
        else:
            flash(_("%(username)s has no second factor.", username=employee.username), "info")
        return redirect(url_for(".employee", employee_id=employee.id))

    @expose("/<employee_id>/end-sessions", methods=["POST"])
    def end_sessions(self, employee_id: str) -> Response:
        employee = self._employee(employee_id)
        if not EndSessionForm().validate_on_submit():
            abort(400)
        keep = record_id(current_user.session_key or "") if employee.id == current_user.id else None
        ended = end_sessions_of(employee.id, keep=keep)
        record_auth_event("sessions_ended_by_admin", employee.username)
        flash(f"{ended} session(s) of {employee.username} ended.", "success")
        return redirect(url_for(".employee", employee_id=employee.id))


# --- wiring -------------------------------------------------------------------------------


def register_two_factor(app: Flask) -> None:
    """The second sign-in step, the hold at enrolment, and My account's section."""
    app.register_blueprint(bp)
    register_enrolment_hold(app)
    app.jinja_env.globals["account_security"] = account_security


def register_two_factor_views(admin: Admin) -> None:
    admin.add_view(SecurityView(name=_l("Sign-in security"), endpoint="security", url="/admin/account/security"))
    admin.add_view(EmployeeSecurityView(name=_l("Employee sign-in security"), endpoint="employee_security",
                                        url="/admin/employee-security"))
