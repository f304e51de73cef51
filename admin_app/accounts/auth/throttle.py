"""Throttling of password guesses, on the sign-in page and on "My account".

One counter per account, whatever name was typed for it (its username or its email, in
any case), shared by both pages: five wrong passwords in 15 minutes, counted from either,
lock the account's password checks. A name that belongs to no account has a counter of
its own (the typed text, trimmed and lower-cased). Separately, 20 failed sign-ins from one
address in 15 minutes lock that address. Counters live in ``RATELIMIT_STORAGE_URI`` (Redis
in production, so every worker sees them).
"""

from __future__ import annotations

from flask import Response, g, request
from flask_login import current_user

from admin_app.accounts.models import User
from admin_app.accounts.services import find_user_by_login, normalise_login
from admin_app.extensions import limiter

GUESSES_PER_ACCOUNT = "5 per 15 minutes"
FAILED_SIGN_INS_PER_ADDRESS = "20 per 15 minutes"
LOGIN_MAX_LENGTH = 120  # the sign-in form's limit: longer text names no account


def named_account(typed: str | None) -> User | None:
    """The account a sign-in form names, looked up once per request (the throttle and the
    view both ask)."""
    login = normalise_login(typed)
    found: dict[str, User | None] = g.setdefault("named_accounts", {})
    if login not in found:
        storable = login and len(login) <= LOGIN_MAX_LENGTH and "\x00" not in login
        found[login] = find_user_by_login(login) if storable else None
    return found[login]


def password_guess_key() -> str:
    """Whose password is being guessed: the account the sign-in form names, or on "My
    account" the signed-in employee's own."""
    if request.endpoint == "auth.login":
        typed = request.form.get("username")
        account = named_account(typed)
        if account is not None:
            return f"account:{account.id}"
        return "name:" + normalise_login(typed)[:LOGIN_MAX_LENGTH]
    return f"account:{current_user.id}"


def record_failed_guess() -> None:
    """This request checked a password and it was wrong: it counts against the limits."""
    g.password_guess_failed = True


def guess_failed(response: Response) -> bool:
    return bool(g.get("password_guess_failed"))


def sign_in_failed(response: Response) -> bool:
    """Anything but a successful sign-in (a redirect) counts against the address."""
    return response.status_code != 302


def checks_no_password() -> bool:
    """A "My account" post that saves preferences checks no password: a locked account may
    still save them."""
    return request.endpoint == "account.index" and not request.form.get("pw-submit_password")


#: Decorates every view that checks a password (methods: POST).
password_guesses = limiter.shared_limit(GUESSES_PER_ACCOUNT, scope="password-guesses", key_func=password_guess_key,
                                        methods=["POST"], deduct_when=guess_failed, exempt_when=checks_no_password)
