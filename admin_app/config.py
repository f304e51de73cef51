"""Configuration read from the environment, with a testing configuration beside it.

Nothing secret lives here: ``SECRET_KEY`` and database credentials come from the
environment. The development fallback key is refused in production by
``manage.py check-config``.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_PATH = PROJECT_ROOT / "instance"
DEV_SECRET_KEY = "dev-only-not-secret"  # a marker, refused in production


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Map the ``postgres://`` / ``postgresql://`` URLs hosts hand out to psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    """Production-shaped defaults; every setting can be overridden from the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_PATH / 'admin_app.db'}")
    )
    # Pre-ping: a connection the database dropped (a restart) is replaced before use,
    # so a restart costs at most one failed request per worker.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT = float(os.environ.get("SQLITE_BUSY_TIMEOUT", "10"))
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    # Werkzeug's scrypt is memory-hard; the cost is configurable so tests stay fast.
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt:32768:8:1")
    # NIST SP 800-63B rev. 4 for a password that is the only factor: at least 15 characters,
    # at least 64 accepted, no composition rules, none that is common or guessable (zxcvbn's
    # score, 0-4). Applies to new and changed passwords; existing ones keep working.
    PASSWORD_MIN_LENGTH = 15
    PASSWORD_MAX_LENGTH = 256
    PASSWORD_MIN_SCORE = 3

    # Request bodies: 1 MB for every request (a form post); a view that takes a file says
    # so with ``admin_app.core.security.accepts_uploads``. Werkzeug itself bounds only
    # multipart forms; urlencoded ones are limited by this alone.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024)))
    MAX_FORM_MEMORY_SIZE = MAX_CONTENT_LENGTH
    # How many reverse proxies in front of the app add X-Forwarded-For/-Proto/-Host
    # (Werkzeug's ProxyFix). 0: none, the headers are ignored.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    PERMANENT_SESSION_LIFETIME = int(os.environ.get("SESSION_IDLE_MINUTES", "60")) * 60

    WTF_CSRF_TIME_LIMIT = None  # bound to the session instead, which has its own timeout

    # The theme of signed-out pages and of employees who never chose one: light, dark or
    # system (prefers-color-scheme).
    ADMIN_THEME = os.environ.get("ADMIN_THEME", "system")

    # Two-factor sign-in (admin_app/accounts/auth/two_factor.py). Employees of these roles must use a
    # second factor (comma-separated; empty: nobody must, anyone may).
    TWO_FACTOR_REQUIRED_ROLES = tuple(
        role.strip() for role in os.environ.get("TWO_FACTOR_REQUIRED_ROLES", "admin").split(",") if role.strip()
    )
    # Fernet key(s) encrypting TOTP secrets at rest (comma-separated: the first encrypts,
    # all decrypt, for rotation) and the HMAC key of recovery codes. Unset: both derived
    # from SECRET_KEY (fine for development; check-config warns in production).
    TWO_FACTOR_ENCRYPTION_KEY = os.environ.get("TWO_FACTOR_ENCRYPTION_KEY", "")
    RECOVERY_CODE_HMAC_KEY = os.environ.get("RECOVERY_CODE_HMAC_KEY", "")
    TWO_FACTOR_ISSUER = os.environ.get("TWO_FACTOR_ISSUER", "Shop back office")
    # Sessions' stored addresses and browser strings are erased after this many days.
    SESSION_DETAILS_RETENTION_DAYS = int(os.environ.get("SESSION_DETAILS_RETENTION_DAYS", "90"))

    # Languages offered (each employee picks one on My account; else the browser's
    # Accept-Language, else the first), the shop's time zone (an employee's default) and
    # the currency every amount is in.
    LANGUAGES = ("en", "de", "fr", "pl")
    SHOP_TIMEZONE = os.environ.get("SHOP_TIMEZONE", "UTC")
    SHOP_CURRENCY = os.environ.get("SHOP_CURRENCY", "EUR")


    # The task queue (core/tasks.py): empty for Huey's SQLite file in instance/ (no broker),
    # redis://host:6379/0 in production; any number of ``manage.py worker`` processes take from it.
    TASK_QUEUE_URL = os.environ.get("TASK_QUEUE_URL", "")
    TASK_QUEUE_IMMEDIATE = _bool("TASK_QUEUE_IMMEDIATE")  # run tasks at once, in the caller (tests)
    # Export files: a folder every web and worker process reaches (a shared volume in production).
    EXPORT_STORAGE_DIR = os.environ.get("EXPORT_STORAGE_DIR", str(INSTANCE_PATH / "exports"))
    # Exports of more rows than this (or than a list counts) run as jobs on the queue.
    EXPORT_DIRECT_MAX_ROWS = int(os.environ.get("EXPORT_DIRECT_MAX_ROWS", "10000"))
    EXPORT_RETENTION_HOURS = float(os.environ.get("EXPORT_RETENTION_HOURS", "24"))
    # Seconds a job sleeps at each progress step: 0 in real use; a demonstration or a test of a
    # job in flight (a killed worker, a moving progress bar) sets it.
    EXPORT_JOB_STEP_PAUSE = float(os.environ.get("EXPORT_JOB_STEP_PAUSE", "0"))
    EXPORT_PROGRESS_EVERY_ROWS = int(os.environ.get("EXPORT_PROGRESS_EVERY_ROWS", "500"))


class TestingConfig(Config):
    """Used by the test suite: a throwaway database, cheap hashing, CSRF still on."""

    TESTING = True
    SECRET_KEY = "testing-secret-key"
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("TEST_DATABASE_URL", "sqlite://")
    )
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"
    RATELIMIT_STORAGE_URI = os.environ.get("TEST_RATELIMIT_STORAGE_URI", "memory://")
    SERVER_NAME = None
    TASK_QUEUE_IMMEDIATE = True  # a job runs in the request that starts it; tests of the queue run a worker
