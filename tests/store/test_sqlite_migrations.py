"""An existing SQLite file is upgraded in place, and what it held keeps working."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shopkit_server.auth.repository import RefreshOutcome
from shopkit_server.settings import Settings
from shopkit_server.store import open_store
from shopkit_server.store.sqlite.db import to_db_time
from shopkit_server.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION


def _version_1_file(path: Path, user_id: str, expires: datetime) -> None:
    with sqlite3.connect(path) as conn:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO users (id, email, name, role, is_active, password_hash, created_at) "
            "VALUES (?, 'old@example.com', 'Old', 'customer', 1, 'x', ?)",
            (user_id, to_db_time(datetime.now(UTC))),
        )
        for jti in ("old-1", "old-2"):
            conn.execute(
                "INSERT INTO refresh_tokens (jti, user_id, expires_at) VALUES (?, ?, ?)",
                (jti, user_id, to_db_time(expires)),
            )
        conn.execute("PRAGMA user_version = 1")


async def test_refresh_tokens_issued_before_families_become_families_of_their_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v1.db"
    user_id = "a" * 24
    now = datetime.now(UTC)
    _version_1_file(path, user_id, now + timedelta(days=1))
    store = await open_store(
        Settings(_env_file=None, database_url=f"sqlite:///{path}")  # type: ignore[call-arg]
    )
    try:
        tokens = store.refresh_tokens
        assert await tokens.rotate("old-1", user_id, now, "new-1", now + timedelta(days=1)) == (
            RefreshOutcome.ROTATED
        )
        assert await tokens.rotate("old-1", user_id, now, "x", now + timedelta(days=1)) == (
            RefreshOutcome.REUSED
        )
        assert await tokens.rotate("new-1", user_id, now, "y", now + timedelta(days=1)) == (
            RefreshOutcome.REUSED
        )
        # The other pre-migration token was its own family: untouched by that reuse.
        assert await tokens.rotate("old-2", user_id, now, "new-2", now + timedelta(days=1)) == (
            RefreshOutcome.ROTATED
        )
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
