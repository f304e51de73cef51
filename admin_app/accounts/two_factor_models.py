"""An employee's second factor: the TOTP secret (encrypted) and single-use recovery codes.

The rules (enrolment, checking a code, resetting) are in :mod:`admin_app.accounts.auth.two_factor`.
A credential is a part of its employee (``__whole__``): enrolling and an admin's reset show
in the employee's history, and the secret itself only as "changed". Using a code writes
with Core statements (not recorded: signing in is no change anyone made to the record).
Recovery codes are written with Core statements only, so their hashes never reach the
history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.accounts.models import Employee
from admin_app.core.models import UTCDateTime, utcnow
from admin_app.extensions import db


class TwoFactorCredential(db.Model):
    """A confirmed TOTP second factor; at most one per employee (the primary key)."""

    __tablename__ = "two_factor_credentials"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # Fernet token of the base32 secret (see auth.two_factor.encrypt_secret).
    secret_encrypted: Mapped[str] = mapped_column(String(255), nullable=False)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # The TOTP time step of the last code accepted: a code of that step or an earlier one
    # is refused, so a code works once.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)

    employee: Mapped[Employee] = relationship()

    # Part of its employee: see ``models.base._one_version_per_whole``.
    __whole__ = "employee"

    def __str__(self) -> str:
        return "Two-factor sign-in (authenticator app)"

    def __repr__(self) -> str:
        return f"<TwoFactorCredential of user {self.user_id}>"


class RecoveryCode(db.Model):
    """A single-use recovery code, stored as HMAC-SHA256 under a configured key."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id} of user {self.user_id}>"
