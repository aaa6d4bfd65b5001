"""MongoDB storage for products."""

from __future__ import annotations

from shopkit_server.store.mongo.db import MongoDatabase


async def ensure_indexes(db: MongoDatabase) -> None:
    """Create this domain's indexes (idempotent)."""


class MongoProductRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._products = db["products"]


class MongoCategoryRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._categories = db["categories"]
