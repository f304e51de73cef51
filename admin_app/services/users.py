"""Creating back-office accounts, shared by ``manage.py create-user``, the demo and tests."""

from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import func, or_, select

from admin_app.extensions import db
from admin_app.models import ROLES, Employee, User

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(ValueError):
    """A request to create or change an account that cannot be carried out, and why."""


def password_problem(password: str) -> str | None:
    """The reason a password is refused, or ``None`` when it is acceptable."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return f"Password must be at least {minimum} characters long."
    if not password.strip():
        return "Password cannot be only spaces."
    return None


def find_user_by_login(login: str) -> User | None:
    """The user whose username or email matches ``login``, ignoring case."""
    login = login.strip().lower()
    if not login:
        return None
    return db.session.scalars(
        select(User).where(or_(func.lower(User.username) == login, User.email == login))
    ).first()


def create_employee(
    username: str,
    email: str,
    password: str,
    role: str = "viewer",
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    department: str | None = None,
) -> Employee:
    """Validate and add a new employee (committed), or raise :class:`UserError`."""
    username, email = username.strip(), email.strip().lower()
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    if not username:
        raise UserError("Username is required.")
    if not EMAIL_PATTERN.match(email):
        raise UserError(f"{email!r} is not a valid email address.")
    if problem := password_problem(password):
        raise UserError(problem)
    taken = db.session.scalars(
        select(User).where(
            or_(func.lower(User.username) == username.lower(), User.email == email)
        )
    ).first()
    if taken is not None:
        field = "username" if taken.username.lower() == username.lower() else "email"
        raise UserError(f"A user with this {field} already exists.")
    employee = Employee(
        username=username,
        email=email,
        role=role,
        is_active=True,
        first_name=first_name,
        last_name=last_name,
        department=department,
    )
    employee.set_password(password)
    db.session.add(employee)
    db.session.commit()
    return employee
