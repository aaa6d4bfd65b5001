"""SQLite storage for orders."""

from __future__ import annotations

from shopkit_server.store.sqlite.db import Database

SCHEMA: tuple[str, ...] = ()


class SqliteOrderRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
