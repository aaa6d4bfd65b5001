"""MongoDB storage for orders."""

from __future__ import annotations

from shopkit_server.store.mongo.db import MongoDatabase


async def ensure_indexes(db: MongoDatabase) -> None:
    """Create this domain's indexes (idempotent)."""


class MongoOrderRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._orders = db["orders"]
