"""MongoDB storage for carts."""

from __future__ import annotations

from shopkit_server.store.mongo.db import MongoDatabase


async def ensure_indexes(db: MongoDatabase) -> None:
    """Create this domain's indexes (idempotent)."""


class MongoCartRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._carts = db["carts"]
