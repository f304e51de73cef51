"""The two-factor service's pieces: encryption under configured (and rotated) keys, keyed
hashes of recovery codes, the accepted window of TOTP codes, secrets piped in."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from cryptography.fernet import Fernet

from admin_app.accounts.auth.two_factor import (
    TwoFactorError,
    decrypt_secret,
    encrypt_secret,
    matching_step,
    normalise_secret,
    recovery_code_hash,
)
from admin_app.core.models import utcnow


def test_secrets_are_encrypted_with_the_configured_key_and_keys_rotate(app, monkeypatch):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "TWO_FACTOR_ENCRYPTION_KEY", old)
    token = encrypt_secret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert "JBSWY3DP" not in token
    assert Fernet(old).decrypt(token.encode()) == b"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    monkeypatch.setitem(app.config, "TWO_FACTOR_ENCRYPTION_KEY", f"{new},{old}")  # rotation: new first
    assert decrypt_secret(token) == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    assert Fernet(new).decrypt(encrypt_secret("X" * 32).encode()) == b"X" * 32
    monkeypatch.setitem(app.config, "TWO_FACTOR_ENCRYPTION_KEY", new)
    with pytest.raises(TwoFactorError, match="configured key"):
        decrypt_secret(token)


def test_without_a_configured_key_one_is_derived_from_secret_key(app, monkeypatch):
    monkeypatch.setitem(app.config, "TWO_FACTOR_ENCRYPTION_KEY", "")
    token = encrypt_secret("JBSWY3DPEHPK3PXP")
    assert decrypt_secret(token) == "JBSWY3DPEHPK3PXP"
    monkeypatch.setitem(app.config, "SECRET_KEY", "another secret key entirely")
    with pytest.raises(TwoFactorError):
        decrypt_secret(token)


def test_recovery_codes_are_hashed_with_the_configured_key(app, monkeypatch):
    monkeypatch.setitem(app.config, "RECOVERY_CODE_HMAC_KEY", "one key")
    first = recovery_code_hash("abcde-fghjk")
    assert first == recovery_code_hash("ABCDE FGHJK") and len(first) == 64
    monkeypatch.setitem(app.config, "RECOVERY_CODE_HMAC_KEY", "another key")
    assert recovery_code_hash("abcde-fghjk") != first


def test_codes_of_the_neighbouring_steps_are_accepted_and_no_further(app):
    secret = pyotp.random_base32()
    totp, now = pyotp.TOTP(secret), utcnow()
    step = totp.timecode(now)
    for offset in (-1, 0, 1):
        assert matching_step(secret, totp.at(now + timedelta(seconds=30 * offset)), now) == step + offset
    for offset in (-2, 2):
        code = totp.at(now + timedelta(seconds=30 * offset))
        if all(code != totp.at(now + timedelta(seconds=30 * near)) for near in (-1, 0, 1)):
            assert matching_step(secret, code, now) is None
    assert matching_step(secret, "12345", now) is None and matching_step(secret, "abcdef", now) is None


@pytest.mark.parametrize("typed", ["jbsw y3dp ehpk 3pxp", "JBSWY3DPEHPK3PXP\n"])
def test_secrets_piped_in_may_be_spaced_or_lower_case(typed):
    assert normalise_secret(typed) == "JBSWY3DPEHPK3PXP"


@pytest.mark.parametrize("typed", ["", "JBSWY3DP", "JBSWY3DPEHPK3PX1", "not base32 at all!!"])
def test_short_or_non_base32_secrets_are_refused(typed):
    with pytest.raises(TwoFactorError):
        normalise_secret(typed)
