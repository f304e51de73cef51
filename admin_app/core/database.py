"""Connection settings the ORM cannot express: SQLite pragmas, set on every new connection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event

# SQLite reads the database through a memory map of up to this size instead of a read()
# per page into each connection's small page cache (figures in bench/README.md).
# Address space, not memory: the pages
# are the operating system's file cache, shared by every worker.
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite enforces foreign keys only when asked, per connection; WAL lets readers carry
    on while one worker writes (the busy timeout is the driver's ``timeout``, see
    :func:`sqlite_engine_options`); reads go through a memory map (``SQLITE_MMAP_BYTES``)."""
    if not type(dbapi_connection).__module__.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES:d}")
    cursor.close()


def is_in_models(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's ``include_object``: leave out PostgreSQL's trigram search indexes (named
    ``*_trgm``), which a migration makes where pg_trgm exists and the models do not
    describe (they also build SQLite databases, which have no such index)."""
    return not (type_ == "index" and reflected and (name or "").endswith("_trgm"))


def sqlite_engine_options(url: str, busy_timeout_seconds: float) -> dict[str, Any]:
    """Engine options for SQLite: wait up to ``busy_timeout_seconds`` for another worker's
    write lock ("database is locked" only after that), and allow the live test server's
    threads to share the in-memory test database."""
    if not url.startswith("sqlite"):
        return {}
    return {"connect_args": {"timeout": busy_timeout_seconds, "check_same_thread": False}}


def register_sqlite_pragmas() -> None:
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
