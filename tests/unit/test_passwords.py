"""The password rules (NIST SP 800-63B rev. 4), and ``create_employee`` (``create-user``)
applying them; the forms are in tests/integration/test_passwords.py."""

from __future__ import annotations

import pytest

from admin_app.accounts.models import Employee
from admin_app.accounts.services import UserError, create_employee, password_problem
from admin_app.extensions import db
from tests.conftest import AuthActions

STRONG = "violet tractor mends a cloud"


@pytest.mark.parametrize("password", [
    "ocelot-ribbon-9",  # 15 characters, no capital, no symbol rule to satisfy
    "amber whistle of the quiet harbour",
    "correct horse battery staple " * 2 + "xyz",  # 64 characters
    "ünïcödé pässwörd wïth ümläüts ünd mörë",
])
def test_long_uncommon_passwords_are_accepted_without_composition_rules(app, password):
    assert password_problem(password) is None


def test_sixty_four_and_more_characters_are_accepted(app):
    assert password_problem("quartz-lantern " * 4 + "ok") is None
    assert password_problem("q7#Lm2@vX9!pR4&z" * 16) is None  # 256 characters
    assert "at most 256" in password_problem("q7#Lm2@vX9!pR4&z" * 16 + "x")


@pytest.mark.parametrize(("password", "message"), [
    ("aaaaaaaaaa", "at least 15 characters"),
    ("ocelot-ribbon9", "at least 15 characters"),  # 14
    ("aaaaaaaaaaaaaaa", "too easy to guess"),
    ("password123456789", "too easy to guess"),
    ("qwertyuiopasdfghjkl", "too easy to guess"),
    ("1234567890123456", "too easy to guess"),
    ("               ", "too easy to guess"),
    ("word word word word word", "too easy to guess"),
])
def test_short_common_and_guessable_passwords_are_refused(app, password, message):
    assert message in password_problem(password)


def test_the_username_email_and_names_do_not_make_a_password(app):
    assert "username or the email" in password_problem("marguerite.example", username="Marguerite.Example")
    assert "username or the email" in password_problem("ann@shop.example.com", email="ANN@shop.example.com")
    assert "too easy to guess" in password_problem("margueritemarguerite", username="marguerite")
    assert "too easy to guess" in password_problem("LovelaceLovelace1815", names=("Ada", "Lovelace"))


def test_the_current_password_is_no_new_password(app):
    employee = create_employee("sam", "sam@shop.example", STRONG, "staff")
    assert "differ from the current one" in password_problem(STRONG, current_hash=employee.password_hash)
    assert password_problem("another strong phrase for sam", current_hash=employee.password_hash) is None


def test_create_user_applies_the_rules(app):
    with pytest.raises(UserError, match="at least 15"):
        create_employee("ann", "ann@shop.example", "aaaaaaaaaa", "staff")
    with pytest.raises(UserError, match="username or the email"):
        create_employee("averyverylongname", "ann@shop.example", "AveryVeryLongName", "staff")


def test_existing_short_passwords_keep_working(client):
    old = Employee(username="veteran", email="veteran@shop.example", role="staff", is_active=True)
    old.set_password("tenletters")  # set before the rules changed
    db.session.add(old)
    db.session.commit()
    assert AuthActions(client).login("veteran", "tenletters").status_code == 302
