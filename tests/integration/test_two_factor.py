"""Two-factor sign-in through the real URLs, CSRF on: enrolment, the second step with a code
or a recovery code, codes working once, the requirement per role, an admin's reset, the
throttle, and ``create-user --totp-secret-stdin``."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from admin_app import commands
from admin_app.accounts.auth.two_factor import decrypt_secret, recovery_code_hash
from admin_app.accounts.models import UserSession
from admin_app.accounts.services import find_user_by_login
from admin_app.accounts.two_factor_models import RecoveryCode, TwoFactorCredential
from admin_app.audit.models import AuditLog
from admin_app.commands import create_user_command, ensure_demo_admin
from admin_app.core.models import utcnow
from admin_app.extensions import db
from tests.conftest import PASSWORD, AuthActions, csrf_token_from, login_as

SECRET_PATTERN = re.compile(r'id="two-factor-secret"[^>]*>([A-Z2-7 ]+)<')
CODES_PATTERN = re.compile(r"<code class=\"h5\">([a-z0-9]{5}-[a-z0-9]{5})</code>")


def code_at(secret: str, steps_ahead: int = 0) -> str:
    """The code of the current time step, or of one ``steps_ahead`` (within the accepted
    window: a test that signs in twice uses a later code the second time)."""
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30 * steps_ahead))


def enrol_through_page(client) -> tuple[str, list[str]]:
    """Enrol the signed-in employee as a person would: read the secret shown as text, type
    the app's code. Returns the secret and the recovery codes shown."""
    page = client.get("/admin/account/security/two-factor/")
    assert page.status_code == 200, page.text
    secret = SECRET_PATTERN.search(page.text).group(1).replace(" ", "")
    done = client.post("/admin/account/security/two-factor/",
                       data={"csrf_token": csrf_token_from(page.text), "code": code_at(secret)})
    assert done.status_code == 200, done.text
    return secret, CODES_PATTERN.findall(done.text)


def second_step(client, code: str):
    page = client.get("/login/two-factor")
    return client.post("/login/two-factor", data={"csrf_token": csrf_token_from(page.text), "code": code})


def enrolled(app, employee) -> str:
    """``employee`` with a second factor set up through the page; returns the secret."""
    client = app.test_client()
    login_as(client, employee)
    secret, _codes = enrol_through_page(client)
    return secret


@pytest.fixture
def required_for_admins(app, monkeypatch):
    monkeypatch.setitem(app.config, "TWO_FACTOR_REQUIRED_ROLES", ("admin",))


def test_enrolment_shows_a_qr_code_and_the_secret_and_needs_a_right_first_code(client, staff_user):
    login_as(client, staff_user)
    page = client.get("/admin/account/security/two-factor/")
    assert page.status_code == 200
    assert "<svg" in page.text and 'aria-label="QR code to scan"' in page.text  # inline: nothing fetched
    assert "img-src 'self' data:" in page.headers["Content-Security-Policy"]
    secret = SECRET_PATTERN.search(page.text).group(1).replace(" ", "")
    assert len(secret) == 32
    again = client.get("/admin/account/security/two-factor/")
    assert SECRET_PATTERN.search(again.text).group(1).replace(" ", "") == secret  # stable across reloads
    wrong = client.post("/admin/account/security/two-factor/",
                        data={"csrf_token": csrf_token_from(page.text), "code": "000000" if code_at(secret) != "000000"
                              else "111111"})
    assert wrong.status_code == 400 and "That code does not match" in wrong.text
    assert db.session.get(TwoFactorCredential, staff_user.id) is None
    done = client.post("/admin/account/security/two-factor/",
                       data={"csrf_token": csrf_token_from(page.text), "code": code_at(secret)})
    assert done.status_code == 200 and "shown only this once" in done.text
    codes = CODES_PATTERN.findall(done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    credential = db.session.get(TwoFactorCredential, staff_user.id)
    assert secret not in credential.secret_encrypted and decrypt_secret(credential.secret_encrypted) == secret
    stored = set(db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == staff_user.id)))
    assert stored == {recovery_code_hash(code) for code in codes}
    assert not stored & {code.replace("-", "") for code in codes}
    account = client.get("/admin/account/")
    assert "On: signing in asks for a code" in account.text and "10 unused recovery codes left" in account.text
    assert "shown only this once" not in account.text and codes[0] not in account.text
    # In the employee's history, the secret only as "set".
    entry = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "TwoFactorCredential")).one()
    assert (entry.action, entry.part_of_type, entry.part_of_id) == ("create", "Employee", str(staff_user.id))
    assert entry.changes["secret_encrypted"] == "set"


def test_sign_in_asks_for_a_code_after_the_password(app, client, staff_user):
    secret = enrolled(app, staff_user)
    auth = AuthActions(client)
    response = auth.login("staff1", next_url="/admin/order/")
    assert response.status_code == 302 and response.headers["Location"] == "/login/two-factor"
    assert client.get("/admin/").status_code == 302  # not signed in yet
    sessions_before = db.session.scalar(select(db.func.count()).select_from(UserSession))
    done = second_step(client, code_at(secret, 1))
    assert done.status_code == 302 and done.headers["Location"] == "/admin/order/"
    assert client.get("/admin/").status_code == 200
    assert db.session.scalar(select(db.func.count()).select_from(UserSession)) == sessions_before + 1


def test_a_code_works_once_and_an_earlier_one_not_at_all(app, staff_user):
    secret = enrolled(app, staff_user)  # used the current step's code
    first, second = app.test_client(), app.test_client()
    AuthActions(first).login("staff1")
    refused = second_step(first, code_at(secret))
    assert refused.status_code == 400 and "has been used already" in refused.text
    assert second_step(first, code_at(secret, 1)).status_code == 302
    AuthActions(second).login("staff1")
    assert second_step(second, code_at(secret, 1)).status_code == 400  # the same code again
    assert second_step(second, code_at(secret, -1)).status_code == 400  # an earlier one
    assert second.get("/admin/").status_code == 302


def test_a_recovery_code_signs_in_once(app, staff_user):
    client = app.test_client()
    login_as(client, staff_user)
    _secret, codes = enrol_through_page(client)
    other = app.test_client()
    AuthActions(other).login("staff1")
    done = second_step(other, codes[3].upper().replace("-", " "))  # typed loosely
    assert done.status_code == 302
    assert "9 are left" in other.get("/admin/").text
    again = app.test_client()
    AuthActions(again).login("staff1")
    assert second_step(again, codes[3]).status_code == 400
    assert second_step(again, "abcde-fghjk").status_code == 400


def test_the_second_step_without_a_password_goes_back_to_sign_in(client, staff_user):
    response = client.get("/login/two-factor")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_wrong_codes_are_throttled_like_passwords(app, staff_user):
    secret = enrolled(app, staff_user)
    client = app.test_client()
    AuthActions(client).login("staff1")
    wrong = "000000" if code_at(secret, 1) != "000000" else "111111"
    for _ in range(5):
        assert second_step(client, wrong).status_code == 400
    locked = second_step(client, code_at(secret, 1))
    assert locked.status_code == 429 and "Too many failed sign-in attempts" in locked.text
    assert client.get("/admin/").status_code == 302


def test_without_a_required_role_the_password_is_enough(client, admin_user):
    # The suite's default: TWO_FACTOR_REQUIRED_ROLES empty.
    login_as(client, admin_user)
    assert client.get("/admin/employee/").status_code == 200


def test_a_required_role_is_held_at_enrolment_until_done(client, admin_user, staff_user, required_for_admins):
    response = AuthActions(client).login("admin1")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/account/security/two-factor/"
    for url in ("/admin/", "/admin/employee/", "/admin/account/"):
        held = client.get(url)
        assert held.status_code == 302 and held.headers["Location"] == "/admin/account/security/two-factor/"
    token = csrf_token_from(client.get("/admin/account/security/two-factor/").text)
    posted = client.post("/admin/account/", data={"csrf_token": token, "prefs-page_size": "50",
                                                  "prefs-submit_preferences": "y"})
    assert posted.status_code == 302 and "two-factor" in posted.headers["Location"]
    assert "Your role requires two-factor sign-in" in client.get("/admin/account/security/two-factor/").text
    enrol_through_page(client)
    assert client.get("/admin/employee/").status_code == 200
    # Other roles are not asked.
    staff = client.application.test_client()
    assert AuthActions(staff).login("staff1").headers["Location"] == "/admin/"
    assert staff.get("/admin/order/").status_code == 200


def test_an_enrolled_admin_signs_in_with_a_code_when_required(app, admin_user, required_for_admins):
    secret = create_admin_with_secret_via_cli(app)
    client = app.test_client()
    assert AuthActions(client).login("cliadmin").headers["Location"] == "/login/two-factor"
    assert second_step(client, code_at(secret)).status_code == 302
    assert client.get("/admin/employee/").status_code == 200


def create_admin_with_secret_via_cli(app) -> str:
    secret = pyotp.random_base32()
    result = app.test_cli_runner().invoke(
        create_user_command, ["cliadmin", "--email", "cliadmin@shop.example", "--role", "admin", "--password-stdin",
                              "--totp-secret-stdin"], input=f"{PASSWORD}\n{secret.lower()}\n")
    assert result.exit_code == 0, result.output
    assert "Two-factor sign-in is on" in result.output
    assert len(re.findall(r"\b[a-z0-9]{5}-[a-z0-9]{5}\b", result.output)) == 10  # the recovery codes
    return secret


def test_create_user_refuses_a_secret_that_is_not_base32_and_creates_nobody(runner):
    result = runner.invoke(create_user_command, ["someone", "--email", "someone@shop.example", "--password-stdin",
                                                 "--totp-secret-stdin"], input=f"{PASSWORD}\nnot-a-secret-1890!!\n")
    assert result.exit_code == 1 and "base32" in result.output
    assert find_user_by_login("someone") is None


def test_an_admin_resets_anothers_second_factor_after_their_own_password(app, admin_user, staff_user):
    enrolled(app, staff_user)
    staff_client = app.test_client()
    AuthActions(staff_client).login("staff1")  # half-way: password typed
    admin = login_as(app.test_client(), admin_user)
    page = admin.client.get(f"/admin/employee-security/{staff_user.id}/")
    assert page.status_code == 200 and "Reset second factor" in page.text
    wrong = admin.post(f"/admin/employee-security/{staff_user.id}/reset", {"password": "not my password"})
    assert wrong.status_code == 400 and "This is not your password." in wrong.text
    assert db.session.get(TwoFactorCredential, staff_user.id) is not None
    done = admin.post(f"/admin/employee-security/{staff_user.id}/reset", {"password": PASSWORD})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(TwoFactorCredential, staff_user.id) is None
    assert db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == staff_user.id)).all() == []
    assert db.session.scalars(select(UserSession).where(UserSession.user_id == staff_user.id)).all() == []
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "reset_two_factor")).one()
    assert (entry.actor_label, entry.part_of_type, entry.part_of_id) == ("admin1", "Employee", str(staff_user.id))
    history = admin.client.get(f"/admin/auditlog/record/Employee/{staff_user.id}/")
    assert history.status_code == 200 and "reset_two_factor" in history.text
    # Now the password alone signs them in again (their role does not require a second factor).
    assert AuthActions(app.test_client()).login("staff1").headers["Location"] == "/admin/"


def test_wrong_passwords_at_the_reset_count_against_the_admin(app, admin_user, staff_user):
    enrolled(app, staff_user)
    admin = login_as(app.test_client(), admin_user)
    for _ in range(5):
        admin.post(f"/admin/employee-security/{staff_user.id}/reset", {"password": "not my password"})
    locked = admin.post(f"/admin/employee-security/{staff_user.id}/reset", {"password": PASSWORD})
    assert locked.status_code == 429
    assert db.session.get(TwoFactorCredential, staff_user.id) is not None


def test_only_admins_reach_an_employees_sign_in_security(app, admin_user, staff_user):
    enrolled(app, admin_user)
    staff = app.test_client()
    login_as(staff, staff_user)
    assert staff.get(f"/admin/employee-security/{admin_user.id}/").status_code == 403
    token = csrf_token_from(staff.get("/admin/account/").text)
    assert staff.post(f"/admin/employee-security/{admin_user.id}/reset",
                      data={"csrf_token": token, "password": PASSWORD}).status_code == 403
    assert db.session.get(TwoFactorCredential, admin_user.id) is not None


def test_an_admin_cannot_reset_their_own_second_factor(app, admin_user):
    client = app.test_client()
    login_as(client, admin_user)
    enrol_through_page(client)
    page = client.get(f"/admin/employee-security/{admin_user.id}/")
    assert "Your own second factor is reset by another admin." in page.text
    token = csrf_token_from(page.text)
    response = client.post(f"/admin/employee-security/{admin_user.id}/reset",
                           data={"csrf_token": token, "password": PASSWORD})
    assert response.status_code == 403


def test_reset_two_factor_command_and_the_demo_admin(app, runner, staff_user):
    enrolled(app, staff_user)
    db.session.expire_all()  # the command runs as another process would: reading what is stored now
    result = runner.invoke(args=["reset-two-factor", "staff1"])
    assert result.exit_code == 0, result.output
    assert db.session.get(TwoFactorCredential, staff_user.id) is None
    assert runner.invoke(args=["reset-two-factor", "staff1"]).exit_code == 1
    # The demo's admin signs in with the printed password alone, whatever an earlier run did.
    password = ensure_demo_admin()
    demo = db.session.scalars(select(TwoFactorCredential)).all()
    assert demo == []
    client = app.test_client()
    enrol_through_page(login_as_password(client, "admin", password))
    password = ensure_demo_admin()
    assert db.session.scalars(select(TwoFactorCredential)).all() == []
    assert AuthActions(app.test_client()).login("admin", password).headers["Location"] == "/admin/"


def login_as_password(client, username: str, password: str):
    response = AuthActions(client).login(username, password)
    assert response.status_code == 302, response.text
    return client


def test_employees_list_links_to_sign_in_security(admin, staff_user):
    page = admin.client.get("/admin/employee/")
    assert f'href="/admin/employee-security/{staff_user.id}/"' in page.text


def test_the_demo_requires_no_second_factor(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "TWO_FACTOR_REQUIRED_ROLES", ("admin",))  # restored afterwards
    monkeypatch.delenv("TWO_FACTOR_REQUIRED_ROLES", raising=False)
    monkeypatch.setattr(commands, "prepare_demo", ensure_demo_admin)  # no migrations on the suite's schema
    monkeypatch.setattr(commands, "run_simple", lambda *args, **kwargs: None)  # serve nothing
    result = runner.invoke(commands.demo_command)
    assert result.exit_code == 0, result.output
    assert "Two-factor sign-in is not required in the demo" in result.output
    password = re.search(r"with password '([^']+)'", result.output).group(1)
    signed_in = AuthActions(app.test_client()).login("admin", password)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/admin/"
