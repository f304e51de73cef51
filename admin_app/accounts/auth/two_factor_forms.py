"""Forms of two-factor sign-in and of the sessions pages (Flask-WTF: each carries a CSRF
token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class SecondFactorForm(FlaskForm):
    """The second sign-in step: a code from the app, or a recovery code."""

    code = StringField(_l("Code from your authenticator app, or a recovery code"),
                       validators=[DataRequired(_l("Type the code.")), Length(max=32)])
    submit = SubmitField(_l("Verify"))


class EnrolForm(FlaskForm):
    code = StringField(_l("Code shown by the app"), validators=[DataRequired(_l("Type the code.")), Length(max=32)])
    submit = SubmitField(_l("Turn on two-factor sign-in"))


class EndSessionForm(FlaskForm):
    """One button: end one session (``session_id``) or, without it, all others."""

    session_id = HiddenField()
    submit = SubmitField(_l("End"))


class ConfirmWithPasswordForm(FlaskForm):
    """An admin's action on someone else's account, confirmed with the admin's own password."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(_l("Type your password.")), Length(max=256)])
    submit = SubmitField(_l("Reset second factor"))
