"""Storage: repository interfaces live with each service; the backends live here.

``open_store(settings)`` picks the backend from the database URL: SQLite (embedded, the default),
PostgreSQL (asyncpg) or MongoDB (PyMongo's native async client).
"""

from __future__ import annotations

from shopkit_server.settings import Settings
from shopkit_server.store.base import Store


async def open_store(settings: Settings) -> Store:
    """Open the store the settings name, creating or migrating its schema."""
    if settings.is_sqlite:
        from shopkit_server.store.sqlite import open_sqlite_store

        return await open_sqlite_store(settings)
    if settings.is_postgres:
        from shopkit_server.store.postgres import open_postgres_store

        return await open_postgres_store(settings)
    from shopkit_server.store.mongo import open_mongo_store

    return await open_mongo_store(settings)


__all__ = ["Store", "open_store"]
