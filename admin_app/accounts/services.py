"""Back-office accounts: the password rules, finding an account by the name typed at
sign-in, and creating employees (``manage.py create-user``, the demo and tests)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from werkzeug.security import check_password_hash
from zxcvbn import zxcvbn

from admin_app.accounts.models import ROLES, Employee, User
from admin_app.extensions import db

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(ValueError):
    """A request to create or change an account that cannot be carried out, and why."""


# zxcvbn refuses longer input; a password's first 72 characters are plenty to judge it.
ZXCVBN_MAX_CHARS = 72


def password_problem(password: str, *, username: str | None = None, email: str | None = None,
                     names: Iterable[str | None] = (), current_hash: str | None = None) -> str | None:
    """The reason a new password is refused, or ``None`` when it is acceptable (NIST SP
    800-63B rev. 4): at least ``PASSWORD_MIN_LENGTH`` characters and at most
    ``PASSWORD_MAX_LENGTH``, any characters, no composition rules; not the username or the
    email; not the current password (``current_hash``); not common or guessable: zxcvbn's
    score at least ``PASSWORD_MIN_SCORE``, with the account's own names as known words."""
    if problem := _length_problem(password):
        return problem
    folded = password.strip().casefold()
    if any(known and folded == known.strip().casefold() for known in (username, email)):
        return _("The password cannot be the username or the email address.")
    if current_hash and check_password_hash(current_hash, password):
        return _("The new password must differ from the current one.")
    return _guessability_problem(password, username, email, names)


def _length_problem(password: str) -> str | None:
    minimum, maximum = current_app.config["PASSWORD_MIN_LENGTH"], current_app.config["PASSWORD_MAX_LENGTH"]
    if len(password) < minimum:
        return _("Use at least %(minimum)d characters: a phrase of several words is easiest to remember.",
                 minimum=minimum)
    if len(password) > maximum:
        return _("Use at most %(maximum)d characters.", maximum=maximum)
    return None


def _guessability_problem(password: str, username: str | None, email: str | None,
                          names: Iterable[str | None]) -> str | None:
    """zxcvbn's verdict, with the account's own names as known words."""
    known_words = [word for word in (username, email, *(email or "").split("@"), *names, "shop", "admin") if word]
    estimate = zxcvbn(password[:ZXCVBN_MAX_CHARS], user_inputs=known_words)
    if estimate["score"] < current_app.config["PASSWORD_MIN_SCORE"]:
        # zxcvbn's warning is English only: said where the language is English, else left out.
        warning = estimate["feedback"].get("warning") if str(get_locale()).startswith("en") else None
        if warning:
            return _("This password is too easy to guess (%(why)s). Try a few unrelated words, or a longer phrase.",
                     why=warning.rstrip(".").lower())
        return _("This password is too easy to guess: it follows a pattern that is quick to guess. Try a few "
                 "unrelated words, or a longer phrase.")
    return None


def normalise_login(typed: str | None) -> str:
    """A typed username or email as accounts are matched: trimmed, lower-cased."""
    return (typed or "").strip().lower()


def find_user_by_login(login: str) -> User | None:
    """The user whose username or email matches ``login``, ignoring case."""
    login = normalise_login(login)
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
    if problem := password_problem(password, username=username, email=email, names=(first_name, last_name)):
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
