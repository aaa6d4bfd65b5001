"""SQLite storage for users."""

from __future__ import annotations

from shopkit_server.store.sqlite.db import Database

SCHEMA: tuple[str, ...] = ()


class SqliteUserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db


class SqliteRefreshTokenRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
