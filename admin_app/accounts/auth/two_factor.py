"""Two-factor sign-in: TOTP (RFC 6238, an authenticator app) and single-use recovery codes.

- The TOTP secret is encrypted at rest with Fernet under ``TWO_FACTOR_ENCRYPTION_KEY``
  (comma-separated keys: the first encrypts, all decrypt, so a key can be rotated).
- Recovery codes are already high-entropy (about 49 random bits each), so they are stored as
  HMAC-SHA256 under ``RECOVERY_CODE_HMAC_KEY``: a fast keyed hash, no scrypt needed.
- Without those keys both are derived from ``SECRET_KEY`` (development; ``check-config``
  warns in production, since a new ``SECRET_KEY`` would then lock every second factor).
- A code works once: the time step of the last accepted TOTP code is stored and only a
  later step is accepted, and a recovery code is marked used; each is one conditional
  UPDATE, so two sign-ins racing with the same code cannot both win.
- ``TWO_FACTOR_REQUIRED_ROLES``: roles that must have a second factor before doing anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import delete, exists, insert, or_, select, update

from admin_app.accounts.models import Employee, UserSession
from admin_app.accounts.two_factor_models import RecoveryCode, TwoFactorCredential
from admin_app.audit.services import audit_action
from admin_app.core.models import utcnow
from admin_app.extensions import db

RECOVERY_CODE_COUNT = 10
# Lower-case letters and digits without look-alikes (0/o, 1/l/i): 31 symbols; ten of them
# make about 49 random bits per code.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10
# Codes of the previous and next 30-second step are accepted too (clocks drift).
VALID_WINDOW = 1
MIN_SECRET_LENGTH = 16  # base32 characters: 80 bits (new secrets have 160)
RESET_ACTION = "reset_two_factor"


class TwoFactorError(ValueError):
    """A second-factor request that cannot be carried out, and why (shown to the user)."""


# --- keys ---------------------------------------------------------------------------------


def _derived(purpose: str) -> bytes:
    """A key for ``purpose`` derived from SECRET_KEY (development default)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"admin_app two-factor {purpose}".encode(), hashlib.sha256).digest()


def _fernet() -> MultiFernet:
    configured = [key.strip() for key in (current_app.config.get("TWO_FACTOR_ENCRYPTION_KEY") or "").split(",")
                  if key.strip()]
    keys = configured or [base64.urlsafe_b64encode(_derived("encryption")).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def _recovery_key() -> bytes:
    configured = current_app.config.get("RECOVERY_CODE_HMAC_KEY") or ""
    return configured.encode() if configured else _derived("recovery codes")


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    """The secret, or :class:`TwoFactorError` when no configured key opens it."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise TwoFactorError(_("The second factor cannot be read with the configured key.")) from error


# --- TOTP ---------------------------------------------------------------------------------


def new_secret() -> str:
    """A random base32 secret of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32()


def normalise_secret(secret: str) -> str:
    """A secret typed or piped in (spaces, lower case allowed), checked to be base32 of at
    least 80 bits; :class:`TwoFactorError` otherwise."""
    cleaned = "".join(secret.split()).upper().rstrip("=")
    if len(cleaned) < MIN_SECRET_LENGTH:
        raise TwoFactorError(f"A TOTP secret needs at least {MIN_SECRET_LENGTH} base32 characters.")
    try:
        base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError) as error:
        raise TwoFactorError("A TOTP secret is base32: letters A-Z and digits 2-7.") from error
    return cleaned


def provisioning_uri(employee: Employee, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=employee.username,
                                               issuer_name=current_app.config["TWO_FACTOR_ISSUER"])


def qr_code_svg(uri: str) -> Markup:
    """The ``otpauth://`` URI as an inline SVG QR code (our CSP allows inline markup; nothing
    is fetched). Dark modules on a white quiet zone, so it scans on the dark themes too."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", title=_("QR code to scan"))
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(_("QR code to scan"))}" ', 1))


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, at: datetime | None = None) -> int | None:
    """The time step whose code ``code`` is (this one, or one either side), or ``None``."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(at or utcnow())
    for step in (now, now - VALID_WINDOW, now + VALID_WINDOW):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


# --- recovery codes -----------------------------------------------------------------------


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def recovery_code_hash(code: str) -> str:
    return hmac.new(_recovery_key(), normalise_recovery_code(code).encode(), hashlib.sha256).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return len(normalise_recovery_code(code)) == RECOVERY_CODE_LENGTH


def new_recovery_codes(employee_id: int) -> list[str]:
    """Ten fresh codes for the employee (any old ones stop working); returns them in clear,
    to be shown once. Core statements: their hashes never reach the history."""
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
             for _ in range(RECOVERY_CODE_COUNT)]
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == employee_id))
    db.session.execute(insert(RecoveryCode.__table__),
                       [{"user_id": employee_id, "code_hash": recovery_code_hash(code)} for code in codes])
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def recovery_codes_left(employee_id: int) -> int:
    return len(db.session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == employee_id, RecoveryCode.used_at.is_(None))).all())


# --- state, enrolment, sign-in, reset -----------------------------------------------------


def has_two_factor(employee_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(TwoFactorCredential.user_id == employee_id))))


def two_factor_required(employee: Employee) -> bool:
    return employee.role in tuple(current_app.config.get("TWO_FACTOR_REQUIRED_ROLES") or ())


def enrol(employee: Employee, secret: str, code: str, at: datetime | None = None) -> list[str]:
    """Turn on two-factor sign-in for ``employee`` with ``secret``, confirmed by ``code``
    from their app (committed); returns the ten recovery codes to show once. The
    confirming code is used up."""
    secret = normalise_secret(secret)
    step = matching_step(secret, code, at)
    if step is None:
        raise TwoFactorError(_("That code does not match: check the time on your phone and type the current code."))
    return _store(employee, secret, step)


def enrol_without_code(employee: Employee, secret: str) -> list[str]:
    """Enrol with a secret the caller already holds (``create-user --totp-secret-stdin``):
    no code is used up, so a script can sign in with the current one at once."""
    return _store(employee, normalise_secret(secret), None)


def _store(employee: Employee, secret: str, used_step: int | None) -> list[str]:
    if has_two_factor(employee.id):
        raise TwoFactorError(_("Two-factor sign-in is already on for this account."))
    db.session.add(TwoFactorCredential(user_id=employee.id, employee=employee, secret_encrypted=encrypt_secret(secret),
                                       confirmed_at=utcnow(), last_used_step=used_step))
    codes = new_recovery_codes(employee.id)
    db.session.commit()
    return codes


def check_second_factor(employee_id: int, code: str, at: datetime | None = None) -> str | None:
    """Use ``code`` (a TOTP code or a recovery code) as the employee's second factor:
    ``"totp"`` or ``"recovery"`` when accepted (and used up, committed), ``None`` when wrong
    or already used."""
    credential = db.session.get(TwoFactorCredential, employee_id)
    if credential is None:
        return None
    if looks_like_recovery_code(code):
        used = db.session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == employee_id, RecoveryCode.code_hash == recovery_code_hash(code),
                   RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False))
        db.session.commit()
        return "recovery" if used.rowcount == 1 else None
    step = matching_step(decrypt_secret(credential.secret_encrypted), code, at)
    if step is None:
        return None
    # Only a later step than the last one accepted: a code (or an earlier one) works once.
    table = TwoFactorCredential.__table__
    accepted = db.session.execute(
        update(table)
        .where(table.c.user_id == employee_id, or_(table.c.last_used_step.is_(None), table.c.last_used_step < step))
        .values(last_used_step=step))
    db.session.commit()
    return "totp" if accepted.rowcount == 1 else None


def reset_two_factor(employee: Employee) -> bool:
    """Remove ``employee``'s second factor and recovery codes and end their sessions (the
    factor may be in the wrong hands); recorded in their history as ``reset_two_factor``.
    Committed. False when they had none."""
    credential = db.session.get(TwoFactorCredential, employee.id)
    if credential is None:
        return False
    with audit_action(RESET_ACTION):
        db.session.delete(credential)
        db.session.flush()
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == employee.id))
    db.session.execute(delete(UserSession).where(UserSession.user_id == employee.id))
    db.session.commit()
    return True
