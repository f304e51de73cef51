"""Sessions an employee sees and ends on My account, admins ending an employee's sessions,
and the retention of stored addresses and browser strings."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from admin_app.accounts.auth.active_sessions import describe_browser, forget_old_session_details
from admin_app.accounts.models import UserSession
from admin_app.commands import prune_sessions_command
from admin_app.core.models import utcnow
from admin_app.extensions import db
from tests.conftest import AuthActions, csrf_token_from, login_as

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")
SESSION_IDS = re.compile(r'name="session_id" value="([0-9a-f]{64})"')


def browser_client(app, user_agent: str, address: str):
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": address})
    return client


@pytest.mark.parametrize(("agent", "shown"), [
    (FIREFOX, "Firefox 133 on Linux"),
    (SAFARI, "Safari 17 on iOS"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36 Edg/131.0.2903.86", "Edge 131 on Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36", "Chrome 131 on macOS"),
    ("curl/8.5.0", "curl/8.5.0"),
    (None, "Unknown browser"),
])
def test_browsers_are_described_briefly(agent, shown):
    assert describe_browser(agent) == shown


def test_my_account_lists_my_sessions_and_ends_another(app, staff_user, viewer_user):
    laptop = browser_client(app, FIREFOX, "198.51.100.7")
    phone = browser_client(app, SAFARI, "203.0.113.5")
    login_as(laptop, staff_user)
    login_as(phone, staff_user)
    login_as(app.test_client(), viewer_user)  # someone else's session is not listed
    page = laptop.get("/admin/account/")
    assert page.status_code == 200
    section = page.text[page.text.index('id="active-sessions"'):]
    assert "Firefox 133 on Linux" in section and "198.51.100.7" in section
    assert "Safari 17 on iOS" in section and "203.0.113.5" in section
    assert section.count("this browser") == 1
    # Times in the employee's own zone (issue 19), so the headings name no zone.
    assert "<th scope=\"col\">Started</th>" in section and "<th scope=\"col\">Last seen</th>" in section
    (phone_id,) = SESSION_IDS.findall(section)  # only the other session has an End button
    assert db.session.get(UserSession, phone_id).user_agent == SAFARI
    ended = laptop.post("/admin/account/security/sessions/end",
                        data={"csrf_token": csrf_token_from(page.text), "session_id": phone_id})
    assert ended.status_code == 302
    assert phone.get("/admin/").status_code == 302  # signed out
    assert laptop.get("/admin/").status_code == 200
    assert "Safari 17" not in laptop.get("/admin/account/").text


def test_ending_all_other_sessions_keeps_this_one(app, staff_user):
    clients = [browser_client(app, FIREFOX, f"198.51.100.{n}") for n in range(3)]
    for client in clients:
        login_as(client, staff_user)
    auth = AuthActions(clients[0])
    assert auth.post("/admin/account/security/sessions/end-others").status_code == 302
    assert [client.get("/admin/").status_code for client in clients] == [200, 302, 302]
    assert db.session.scalar(select(db.func.count()).select_from(UserSession)) == 1


def test_nobody_ends_someone_elses_session_from_my_account(app, staff_user, viewer_user):
    mine, theirs = app.test_client(), app.test_client()
    auth = login_as(mine, staff_user)
    login_as(theirs, viewer_user)
    their_id = db.session.scalars(select(UserSession.id).where(UserSession.user_id == viewer_user.id)).one()
    response = auth.post("/admin/account/security/sessions/end", {"session_id": their_id})
    assert response.status_code == 302
    assert theirs.get("/admin/").status_code == 200
    assert "That session had already ended." in mine.get("/admin/account/").text


def test_ending_needs_csrf(app, staff_user):
    client = app.test_client()
    login_as(client, staff_user)
    assert client.post("/admin/account/security/sessions/end-others").status_code == 400


def test_admins_end_every_session_of_an_employee(app, admin_user, staff_user):
    staff_clients = [app.test_client(), app.test_client()]
    for client in staff_clients:
        login_as(client, staff_user)
    admin = login_as(app.test_client(), admin_user)
    page = admin.client.get(f"/admin/employee-security/{staff_user.id}/")
    assert page.status_code == 200 and page.text.count("<tr>") == 3  # the header and two sessions
    done = admin.post(f"/admin/employee-security/{staff_user.id}/end-sessions")
    assert done.status_code == 302
    assert "2 session(s) of staff1 ended." in admin.client.get(done.headers["Location"]).text
    assert [client.get("/admin/").status_code for client in staff_clients] == [302, 302]
    assert admin.client.get("/admin/").status_code == 200


def test_only_admins_end_an_employees_sessions(app, staff_user, viewer_user):
    viewer = app.test_client()
    login_as(viewer, viewer_user)
    staff = login_as(app.test_client(), staff_user)
    token = csrf_token_from(viewer.get("/admin/account/").text)
    response = viewer.post(f"/admin/employee-security/{staff_user.id}/end-sessions", data={"csrf_token": token})
    assert response.status_code == 403
    assert staff.client.get("/admin/").status_code == 200
    assert viewer.get("/admin/employee-security/999999/").status_code == 403


def test_an_unknown_employee_is_not_found(admin):
    assert admin.client.get("/admin/employee-security/999999/").status_code == 404
    assert admin.client.get("/admin/employee-security/99999999999999/").status_code == 404


def _age_sessions(days: int) -> None:
    with db.engine.begin() as connection:
        connection.execute(UserSession.__table__.update().values(created_at=utcnow() - timedelta(days=days)))


def test_addresses_and_browsers_are_erased_after_the_retention_period(app, staff_user, runner):
    old = browser_client(app, FIREFOX, "198.51.100.7")
    login_as(old, staff_user)
    _age_sessions(91)
    recent = browser_client(app, SAFARI, "203.0.113.5")
    login_as(recent, staff_user)  # every sign-in erases what is older than the retention period
    db.session.expire_all()
    rows = {row.user_agent: row for row in db.session.scalars(select(UserSession))}
    assert set(rows) == {None, SAFARI}
    assert rows[None].ip_address is None and rows[SAFARI].ip_address == "203.0.113.5"
    assert old.get("/admin/").status_code == 200  # the session itself goes on
    assert "not kept" in old.get("/admin/account/").text
    _age_sessions(89)
    db.session.commit()  # end the test's read, so the ageing below can write (SQLite)
    assert forget_old_session_details() == 0
    db.session.commit()
    _age_sessions(91)
    result = runner.invoke(prune_sessions_command)
    assert result.exit_code == 0 and "of 1 session(s)" in result.output
    db.session.expire_all()
    assert db.session.scalars(select(UserSession.ip_address)).all() == [None, None]


def test_the_retention_period_is_configurable(app, staff_user, monkeypatch):
    login_as(browser_client(app, FIREFOX, "198.51.100.7"), staff_user)
    _age_sessions(8)
    monkeypatch.setitem(app.config, "SESSION_DETAILS_RETENTION_DAYS", 7)
    assert forget_old_session_details() == 1
    db.session.commit()
