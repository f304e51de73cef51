"""Admins manage employee accounts; every employee manages their own account."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from admin_app.accounts.models import Employee
from admin_app.extensions import db
from tests import factories as f
from tests.conftest import PASSWORD, AuthActions, login_as, read_form

NEW_PASSWORD = "a brand new password"


def employee_form(**overrides):
    data = {"username": "newbie", "email": "newbie@shop.example", "first_name": "New", "last_name": "Bie",
            "role": "staff", "is_active": "y", "department": "Sales", "new_password": "initial password 1"}
    return {**data, **overrides}


def opened(client, url: str) -> dict[str, str]:
    """The version an edit form carries when it is opened (a form without it is refused)."""
    return {"loaded_version": read_form(client.get(url).text)["loaded_version"]}


def get_employee(username: str) -> Employee:
    db.session.expire_all()
    return db.session.scalar(select(Employee).where(Employee.username == username))


def test_admin_creates_an_employee_who_can_then_sign_in(app, client, admin_user):
    auth = login_as(client, admin_user)
    response = auth.post("/admin/employee/new/", employee_form())
    assert response.status_code == 302
    newbie = get_employee("newbie")
    assert (newbie.role, newbie.is_active, newbie.department) == ("staff", True, "Sales")
    assert newbie.check_password("initial password 1")
    other = app.test_client()
    assert AuthActions(other).login("newbie", "initial password 1").status_code == 302


def test_creating_needs_a_strong_initial_password(client, admin_user):
    auth = login_as(client, admin_user)
    for password, message in (("", "Set an initial password."), ("short", "at least 15 characters")):
        response = auth.post("/admin/employee/new/", employee_form(new_password=password))
        assert response.status_code == 200 and message in response.text
    assert get_employee("newbie") is None


def test_password_hashes_are_never_shown_or_exported(client, admin_user, staff_user):
    auth = login_as(client, admin_user)
    pages = [client.get("/admin/employee/").text,
             client.get(f"/admin/employee/details/?id={staff_user.id}").text,
             client.get(f"/admin/employee/edit/?id={staff_user.id}").text,
             client.get("/admin/employee/export/csv/").get_data(as_text=True)]
    for page in pages:
        assert "scrypt:" not in page and staff_user.password_hash not in page
        assert "password_hash" not in page
    edit = pages[2]
    assert 'name="new_password"' in edit and 'type="password"' in edit
    assert auth is not None


def test_admin_changes_role_and_password_and_old_sessions_end(app, client, admin_user, staff_user):
    staff_client = app.test_client()
    login_as(staff_client, staff_user)
    assert staff_client.get("/admin/").status_code == 200
    auth = login_as(client, admin_user)
    url = f"/admin/employee/edit/?id={staff_user.id}"
    response = auth.post(url, employee_form(username="staff1", email="staff1@shop.example", role="viewer",
                                            new_password=NEW_PASSWORD, **opened(client, url)))
    assert response.status_code == 302
    changed = get_employee("staff1")
    assert changed.role == "viewer" and changed.check_password(NEW_PASSWORD)
    # The staff member's existing session ended at its next request.
    assert staff_client.get("/admin/").status_code == 302
    assert AuthActions(staff_client).login("staff1", NEW_PASSWORD).status_code == 302


def test_editing_without_a_password_keeps_the_old_one(client, admin_user, staff_user):
    auth = login_as(client, admin_user)
    url = f"/admin/employee/edit/?id={staff_user.id}"
    response = auth.post(url, employee_form(username="staff1", email="staff1@shop.example", new_password="",
                                            first_name="Renamed", **opened(client, url)))
    assert response.status_code == 302
    assert get_employee("staff1").first_name == "Renamed"
    assert get_employee("staff1").check_password(PASSWORD)


def test_deactivation_ends_sessions_and_reactivation_restores_access(app, client, admin_user, staff_user):
    staff_client = app.test_client()
    login_as(staff_client, staff_user)
    auth = login_as(client, admin_user)
    response = auth.post("/admin/employee/action/", {"action": "deactivate", "rowid": str(staff_user.id)})
    assert response.status_code == 302
    assert get_employee("staff1").is_active is False
    assert staff_client.get("/admin/").status_code == 302
    assert AuthActions(staff_client).login("staff1").status_code == 200  # refused
    auth.post("/admin/employee/action/", {"action": "reactivate", "rowid": str(staff_user.id)})
    assert AuthActions(staff_client).login("staff1").status_code == 302


def test_the_last_active_admin_cannot_demote_or_deactivate_themself(client, admin_user):
    auth = login_as(client, admin_user)
    url = f"/admin/employee/edit/?id={admin_user.id}"
    same = {"username": "admin1", "email": "admin1@shop.example"}
    for change in ({"role": "staff"}, {"is_active": ""}):
        data = employee_form(**same, new_password="", role="admin", is_active="y", **opened(client, url))
        data.update(change)
        if not data["is_active"]:
            del data["is_active"]
        response = auth.post(url, data)
        assert response.status_code == 200
        assert "last active admin" in response.text
    auth.post("/admin/employee/action/", {"action": "deactivate", "rowid": str(admin_user.id)})
    me = get_employee("admin1")
    assert (me.role, me.is_active) == ("admin", True)
    # With a second admin, the first may step down.
    f.employee(username="admin2", email="admin2@shop.example", role="admin", is_active=True)
    response = auth.post(url, employee_form(**same, new_password="", role="staff", is_active="y",
                                            **opened(client, url)))
    assert response.status_code == 302 and get_employee("admin1").role == "staff"


def test_staff_cannot_set_customer_passwords(client, staff_user):
    customer = f.customer()
    login_as(client, staff_user)
    for url in ("/admin/customer/new/", f"/admin/customer/edit/?id={customer.id}"):
        page = client.get(url).text
        assert "password" not in page.lower().replace("csrf", "")


# --- My account -------------------------------------------------------------------------


def test_change_own_password_needs_the_current_one(app, client, viewer_user):
    auth = login_as(client, viewer_user)
    wrong = auth.post("/admin/account/", {"pw-current_password": "not my password", "pw-new_password": NEW_PASSWORD,
                                          "pw-confirm_password": NEW_PASSWORD, "pw-submit_password": "1"})
    assert wrong.status_code == 400 and "This is not your current password." in wrong.text
    mismatch = auth.post("/admin/account/", {"pw-current_password": PASSWORD, "pw-new_password": NEW_PASSWORD,
                                             "pw-confirm_password": "something else", "pw-submit_password": "1"})
    assert "The passwords do not match." in mismatch.text
    assert get_employee("viewer1").check_password(PASSWORD)
    other_session = app.test_client()
    login_as(other_session, viewer_user)
    done = auth.post("/admin/account/", {"pw-current_password": PASSWORD, "pw-new_password": NEW_PASSWORD,
                                         "pw-confirm_password": NEW_PASSWORD, "pw-submit_password": "1"})
    assert done.status_code == 302
    assert get_employee("viewer1").check_password(NEW_PASSWORD)
    assert client.get("/admin/").status_code == 200          # this session carries on
    assert other_session.get("/admin/").status_code == 302   # the other one ended


def test_preferences_are_saved_and_applied(client, viewer_user):
    for n in range(60):
        f.tag(name=f"tag-{n:02d}")
    auth = login_as(client, viewer_user)

    def tags_shown() -> int:
        page = client.get("/admin/tag/").text
        return sum(1 for n in range(60) if f"tag-{n:02d}" in page)

    assert tags_shown() == 20
    response = auth.post("/admin/account/", {"prefs-page_size": "50", "prefs-theme": "dark",
                                             "prefs-submit_preferences": "1"})
    assert response.status_code == 302
    assert get_employee("viewer1").preferences == {"page_size": 50, "theme": "dark"}
    assert '<link href="/static/css/theme-dark.css" rel="stylesheet" media="all">' in client.get("/admin/tag/").text
    assert tags_shown() == 50


def test_theme_picker_offers_light_dark_and_the_system_choice(client, viewer_user):
    auth = login_as(client, viewer_user)
    page = client.get("/admin/account/").text
    picker = re.search(r'<select[^>]*name="prefs-theme".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option[^>]*value="([^"]+)"[^>]*>([^<]+)</option>', picker) == [
        ("light", "Light"), ("dark", "Dark"), ("system", "Same as my system")]
    # Nobody chose yet: the system decides, with one stylesheet per colour scheme.
    assert '<option selected value="system">' in picker
    assert ('<link href="/static/css/theme-light.css" rel="stylesheet" '
            'media="not all and (prefers-color-scheme: dark)">') in page
    assert '<link href="/static/css/theme-dark.css" rel="stylesheet" media="(prefers-color-scheme: dark)">' in page
    assert auth.post("/admin/account/", {"prefs-page_size": "20", "prefs-theme": "light",
                                         "prefs-submit_preferences": "1"}).status_code == 302
    page = client.get("/admin/account/").text
    assert '<link href="/static/css/theme-light.css" rel="stylesheet" media="all">' in page
    assert "theme-dark.css" not in page


@pytest.mark.parametrize(("swatch", "theme"), [("darkly", "dark"), ("slate", "dark"), ("flatly", "light"),
                                               ("default", "light"), ("journal", "light")])
def test_a_swatch_chosen_before_the_themes_reads_as_the_nearest_theme(client, viewer_user, swatch, theme):
    viewer_user.preferences["theme"] = swatch
    db.session.commit()
    login_as(client, viewer_user)
    page = client.get("/admin/account/").text
    assert f'<link href="/static/css/theme-{theme}.css" rel="stylesheet" media="all">' in page
    assert f'<option selected value="{theme}">' in page


def test_no_page_loads_anything_from_another_site(client, viewer_user):
    """The themes carry no @import and no font from elsewhere; the favicon is ours."""
    for name in ("theme-light.css", "theme-dark.css", "admin_app.css"):
        css = client.get(f"/static/css/{name}").get_data(as_text=True)
        assert "@import" not in css and not re.search(r"url\(\s*['\"]?(https?:)?//", css), name
    assert client.get("/favicon.ico").status_code == 200
    assert client.get("/favicon.ico").mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    login_page = client.get("/login").text
    assert '<link href="/static/favicon.ico" rel="icon" sizes="any">' in login_page
    assert re.search(r'<input[^>]*autofocus[^>]*name="username"|<input[^>]*name="username"[^>]*autofocus', login_page)
    assert "autofocus" not in re.search(r'<input[^>]*name="password"[^>]*>', login_page).group(0)
    login_as(client, viewer_user)
    assert not re.search(r'(href|src)="(https?:)?//', client.get("/admin/").text)


def test_preferences_reject_forged_values(client, viewer_user):
    auth = login_as(client, viewer_user)
    response = auth.post("/admin/account/", {"prefs-page_size": "100000", "prefs-theme": "../../etc",
                                             "prefs-submit_preferences": "1"})
    assert response.status_code == 400 and "Not a valid choice" in response.text
    assert get_employee("viewer1").preferences == {}


def test_deactivating_many_admins_counts_the_admins_once_and_keeps_the_last(client, admin_user):
    others = [f.employee(username=f"admin{n}", email=f"admin{n}@shop.example", role="admin", is_active=True)
              for n in range(2, 7)]
    auth = login_as(client, admin_user)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    rowids = [str(e.id) for e in [admin_user, *others]]
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = auth.post("/admin/employee/action/", {"action": "deactivate", "rowid": rowids})
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 302
    admin_counts = [s for s in statements if "count(" in s and "role" in s]
    assert len(admin_counts) == 1, admin_counts
    db.session.expire_all()
    still_active = db.session.scalars(select(Employee).where(Employee.role == "admin", Employee.is_active)).all()
    assert len(still_active) == 1  # the last one asked for stays (the signed-in admin went first)


def test_deactivating_the_last_admin_in_bulk_shows_only_the_refusal(client, admin_user):
    auth = login_as(client, admin_user)
    response = auth.post("/admin/employee/action/", {"action": "deactivate", "rowid": str(admin_user.id)},
                         follow_redirects=True)
    assert "admin1 is the last active admin and stays active." in response.text
    assert "deactivated." not in response.text and "alert-success" not in response.text
    assert get_employee("admin1").is_active
