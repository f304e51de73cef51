""""My account": every employee changes their own password and preferences here."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, get_timezone, refresh
from flask_babel import gettext as _
from flask_login import current_user

from admin_app.accounts.auth.forms import ChangePasswordForm, PreferencesForm
from admin_app.accounts.auth.session import start_session
from admin_app.accounts.auth.throttle import password_guesses, record_failed_guess
from admin_app.core.themes import preferred_theme
from admin_app.core.views import ShopBaseView
from admin_app.extensions import db


class AccountView(ShopBaseView):
    """Own password (current one required) and preferences kept in ``User.preferences``."""

    @expose("/", methods=["GET", "POST"])
    @password_guesses  # wrong current passwords count as failed sign-ins of this account
    def index(self):
        password_form = ChangePasswordForm(prefix="pw")
        shown = {"page_size": str(self.page_size_preference()), "theme": self.theme_preference(),
                 "language": str(get_locale()), "timezone": str(get_timezone())}
        preferences_form = PreferencesForm(prefix="prefs", data=shown)
        if request.method == "POST" and password_form.submit_password.data:
            return self.change_password(password_form, preferences_form)
        if request.method == "POST" and preferences_form.submit_preferences.data:
            # Language and time zone stay as they are when a post leaves them out.
            return self.save_preferences(password_form, PreferencesForm(
                prefix="prefs", data={"language": shown["language"], "timezone": shown["timezone"]}))
        if request.method == "POST":
            return redirect(url_for(".index"))
        return self.render("admin/account.html", password_form=password_form, preferences_form=preferences_form)

    def change_password(self, password_form: ChangePasswordForm, preferences_form: PreferencesForm) -> Any:
        if password_form.validate_on_submit():
            if current_user.check_password(password_form.current_password.data):
                employee = current_user._get_current_object()
                employee.set_password(password_form.new_password.data)
                db.session.commit()
                # Every session of the employee ended with the change; this browser gets a new one.
                start_session(employee)
                flash(_("Your password has been changed."), "success")
                return redirect(url_for(".index"))
            record_failed_guess()
            password_form.current_password.errors.append(_("This is not your current password."))
        return self.render("admin/account.html", password_form=password_form,
                           preferences_form=preferences_form), 400

    def save_preferences(self, password_form: ChangePasswordForm, preferences_form: PreferencesForm) -> Any:
        if preferences_form.validate_on_submit():
            current_user.preferences["page_size"] = int(preferences_form.page_size.data)
            current_user.preferences["theme"] = preferences_form.theme.data
            for name in ("language", "timezone"):
                if preferences_form[name].raw_data:  # chosen, not the browser's or the shop's default
                    current_user.preferences[name] = preferences_form[name].data
            db.session.commit()
            # Said in the language just chosen.
            refresh()
            flash(_("Your preferences have been saved."), "success")
            return redirect(url_for(".index"))
        return self.render("admin/account.html", password_form=password_form,
                           preferences_form=preferences_form), 400

    @staticmethod
    def page_size_preference() -> int:
        return current_user.preferences.get("page_size", 20)

    @staticmethod
    def theme_preference() -> str:
        return preferred_theme(current_user.preferences, current_app.config["ADMIN_THEME"])
