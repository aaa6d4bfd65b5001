"""MongoDB storage for users."""

from __future__ import annotations

from shopkit_server.store.mongo.db import MongoDatabase


async def ensure_indexes(db: MongoDatabase) -> None:
    """Create this domain's indexes (idempotent)."""


class MongoUserRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._users = db["users"]


class MongoRefreshTokenRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._tokens = db["refresh_tokens"]
