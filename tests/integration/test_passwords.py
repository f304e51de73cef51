"""The password rules on the forms that set a password: "My account" and an admin
editing an employee (the rules themselves: tests/unit/test_passwords.py)."""

from __future__ import annotations

from admin_app.accounts.models import Employee
from admin_app.extensions import db
from tests.conftest import PASSWORD, AuthActions, login_as
from tests.integration.helpers import submit
from tests.unit.test_passwords import STRONG


def change_own(auth: AuthActions, new: str, current: str = PASSWORD):
    return auth.post("/admin/account/", {"pw-current_password": current, "pw-new_password": new,
                                         "pw-confirm_password": new, "pw-submit_password": "1"})


def test_my_account_refuses_weak_passwords_and_the_current_one(client, staff_user):
    auth = login_as(client, staff_user)
    for weak, message in (("aaaaaaaaaa", "at least 15 characters"), ("aaaaaaaaaaaaaaaaaaaa", "too easy to guess"),
                          (PASSWORD, "must differ from the current one"), ("staff1@shop.example", "the username")):
        response = change_own(auth, weak)
        assert response.status_code == 400 and message in response.text, weak
    db.session.expire_all()
    assert db.session.get(Employee, staff_user.id).check_password(PASSWORD)
    long_phrase = "the cellist rode a blue tram past the harbour at dawn, humming!!"  # 64 characters
    assert len(long_phrase) == 64
    assert change_own(auth, long_phrase).status_code == 302
    db.session.expire_all()
    assert db.session.get(Employee, staff_user.id).check_password(long_phrase)


def test_an_admin_cannot_set_a_weak_or_unchanged_password(client, admin_user, staff_user):
    login_as(client, admin_user)
    form = {"username": "staff1", "email": "staff1@shop.example", "first_name": "Staff", "last_name": "Tester",
            "role": "staff", "is_active": "y", "department": ""}
    url = f"/admin/employee/edit/?id={staff_user.id}"
    for weak, message in (("aaaaaaaaaaaaaaaaaaaa", "too easy to guess"), (PASSWORD, "differ from the current one"),
                          ("short one", "at least 15 characters")):
        response = submit(client, url, {**form, "new_password": weak})
        assert response.status_code == 200 and message in response.text, weak
    assert submit(client, url, {**form, "new_password": STRONG}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Employee, staff_user.id).check_password(STRONG)
