"""SQLite storage for carts."""

from __future__ import annotations

from shopkit_server.store.sqlite.db import Database

SCHEMA: tuple[str, ...] = ()


class SqliteCartRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
