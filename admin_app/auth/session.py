"""How a browser session maps to an employee, and when it stops doing so."""

from __future__ import annotations

from sqlalchemy.orm import undefer

from admin_app.extensions import db, login_manager
from admin_app.models import Employee

# Preferences are deferred for every user but the signed-in one (page size, theme).
WITH_PREFERENCES = (undefer(Employee.preferences),)


def session_id_for(employee: Employee) -> str:
    """The id kept in the session: it changes when the password changes or the account is
    deactivated, so every older session of that employee ends at its next request."""
    return f"{employee.id}:{employee.session_token_version or 1}"


@login_manager.user_loader
def load_employee(session_id: str) -> Employee | None:
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit():
        return None
    employee = db.session.get(Employee, int(user_id), options=WITH_PREFERENCES)
    if employee is None or not employee.is_active or str(employee.session_token_version or 1) != version:
        return None
    return employee
