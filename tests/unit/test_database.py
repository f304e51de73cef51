"""SQLite connection settings: every new connection gets them."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from admin_app.core.database import SQLITE_MMAP_BYTES, register_sqlite_pragmas


def test_every_sqlite_connection_enforces_foreign_keys_uses_wal_and_a_memory_map(tmp_path):
    register_sqlite_pragmas()
    engine = create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    try:
        for _ in range(2):  # the pool's first connection, and a fresh one after dispose
            with engine.connect() as connection:
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert connection.execute(text("PRAGMA mmap_size")).scalar() == SQLITE_MMAP_BYTES
            engine.dispose()
    finally:
        engine.dispose()
