"""``manage.py check-config``: refuse to run production on development settings."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url

from admin_app.config import DEV_SECRET_KEY


def config_problems(app: Flask) -> list[str]:
    """Everything that makes this configuration unfit for production (empty when fine)."""
    problems = [problem for problem in (_secret_key_problem(app), _sqlite_problem(app)) if problem]
    if (app.config.get("RATELIMIT_STORAGE_URI") or "memory://").startswith("memory://"):
        problems.append("RATELIMIT_STORAGE_URI keeps login throttling in process memory: with several "
                        "workers each counts alone. Point it at Redis (redis://host:6379).")
    if not (app.config.get("TASK_QUEUE_URL") or "").startswith(("redis://", "rediss://", "unix://")):
        problems.append("TASK_QUEUE_URL does not name Redis: the task queue is a SQLite file on this machine, "
                        "so workers on other machines never see its jobs. Point it at Redis (redis://host:6379/1).")
    if not app.config.get("SESSION_COOKIE_SECURE"):
        problems.append("SESSION_COOKIE_SECURE is off: set it to 1 when serving over HTTPS.")
    for key in ("TWO_FACTOR_ENCRYPTION_KEY", "RECOVERY_CODE_HMAC_KEY"):
        if not app.config.get(key):
            problems.append(f"{key} is not set: it is derived from SECRET_KEY, so changing SECRET_KEY "
                            "would make every second factor unusable. Set a key of its own.")
    return problems


def _secret_key_problem(app: Flask) -> str | None:
    secret = app.config.get("SECRET_KEY") or ""
    if not secret or secret == DEV_SECRET_KEY:
        return "SECRET_KEY is missing or the development default: set a long random value."
    if len(secret) < 32:
        return "SECRET_KEY is shorter than 32 characters: use a long random value."
    return None


def _sqlite_problem(app: Flask) -> str | None:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if not database or database == ":memory:":
        return "The database is an in-memory SQLite database: every restart loses all data."
    instance = Path(app.instance_path).resolve()
    if instance not in Path(database).resolve().parents:
        return f"The SQLite database {database} is outside the instance folder {instance}."
    return None


# Problems that stop production from starting; the others are warnings.
FATAL_MARKERS = ("SECRET_KEY", "SQLite database", "in-memory SQLite")


def is_fatal(problem: str) -> bool:
    return any(marker in problem for marker in FATAL_MARKERS)
