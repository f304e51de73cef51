"""Sign-in and "My account" forms (Flask-WTF, so every one carries a CSRF token)."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from admin_app.accounts.services import password_problem
from admin_app.core.i18n import LANGUAGE_NAMES, time_zones
from admin_app.core.themes import THEME_CHOICES
from admin_app.core.validators import no_nul
from admin_app.core.views import PAGE_SIZES


def _no_nul(form: FlaskForm, field: StringField) -> None:
    """No username holds NUL, and PostgreSQL cannot even look one up ("cannot contain NUL")."""
    no_nul(form, field)


class LoginForm(FlaskForm):
    username = StringField(_l("Username or email"), validators=[_no_nul, DataRequired(), Length(max=120)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Sign in"))


def _acceptable_new_password(form: FlaskForm, field: PasswordField) -> None:
    """The password rules, for the signed-in employee (see ``accounts.services``)."""
    if not field.data:
        return
    if field.data == form.current_password.data:
        raise ValidationError(_("The new password must differ from the current one."))
    if problem := password_problem(field.data, username=current_user.username, email=current_user.email,
                                   names=(current_user.first_name, current_user.last_name)):
        raise ValidationError(problem)


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), _acceptable_new_password])
    confirm_password = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("new_password", _l("The passwords do not match."))],
    )
    submit_password = SubmitField(_l("Change password"))


def _offered_languages() -> list[tuple[str, str]]:
    return [(code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]]


class PreferencesForm(FlaskForm):
    page_size = SelectField(_l("Rows per page"), choices=[str(n) for n in PAGE_SIZES])
    theme = SelectField(_l("Theme"), choices=list(THEME_CHOICES))
    language = SelectField(_l("Language"), choices=_offered_languages)
    timezone = SelectField(_l("Time zone"), choices=lambda: sorted(time_zones()),
                           description=_l("Dates and times are shown in this zone, and typed in it."))
    submit_preferences = SubmitField(_l("Save preferences"))

