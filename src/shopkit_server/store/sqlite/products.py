"""SQLite storage for products."""

from __future__ import annotations

from shopkit_server.store.sqlite.db import Database

SCHEMA: tuple[str, ...] = ()


class SqliteProductRepository:
    def __init__(self, db: Database) -> None:
        self._db = db


class SqliteCategoryRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
