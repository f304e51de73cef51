"""Sign-in and "My account" forms (Flask-WTF, so every one carries a CSRF token)."""

from __future__ import annotations

from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from admin_app.accounts.services import password_problem
from admin_app.core.themes import THEME_CHOICES
from admin_app.core.validators import no_nul
from admin_app.core.views import PAGE_SIZES


def _no_nul(form: FlaskForm, field: StringField) -> None:
    """No username holds NUL, and PostgreSQL cannot even look one up ("cannot contain NUL")."""
    no_nul(form, field)


class LoginForm(FlaskForm):
    username = StringField("Username or email", validators=[_no_nul, DataRequired(), Length(max=120)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    submit = SubmitField("Sign in")


def _acceptable_new_password(form: FlaskForm, field: PasswordField) -> None:
    """The password rules, for the signed-in employee (see ``accounts.services``)."""
    if not field.data:
        return
    if field.data == form.current_password.data:
        raise ValidationError("The new password must differ from the current one.")
    if problem := password_problem(field.data, username=current_user.username, email=current_user.email,
                                   names=(current_user.first_name, current_user.last_name)):
        raise ValidationError(problem)


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField("New password", validators=[DataRequired(), _acceptable_new_password])
    confirm_password = PasswordField(
        "Repeat new password", validators=[DataRequired(), EqualTo("new_password", "The passwords do not match.")]
    )
    submit_password = SubmitField("Change password")


class PreferencesForm(FlaskForm):
    page_size = SelectField("Rows per page", choices=[str(n) for n in PAGE_SIZES])
    theme = SelectField("Theme", choices=list(THEME_CHOICES))
    submit_preferences = SubmitField("Save preferences")
