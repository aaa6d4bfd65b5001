"""The PostgreSQL backend (asyncpg, one pool per process, tsvector + GIN search)."""

from __future__ import annotations

from shopkit_server.settings import Settings
from shopkit_server.store.base import Store
from shopkit_server.store.postgres.accounts import (
    PostgresAccountTokenRepository,
    PostgresAddressRepository,
    PostgresGuestCartRepository,
)
from shopkit_server.store.postgres.carts import PostgresCartRepository
from shopkit_server.store.postgres.checkout import PostgresCheckoutStore
from shopkit_server.store.postgres.db import Database
from shopkit_server.store.postgres.orders import PostgresOrderRepository
from shopkit_server.store.postgres.outbox import PostgresWebhookRepository
from shopkit_server.store.postgres.products import (
    PostgresCategoryRepository,
    PostgresProductRepository,
)
from shopkit_server.store.postgres.schema import migrate
from shopkit_server.store.postgres.users import (
    PostgresRefreshTokenRepository,
    PostgresUserRepository,
)


async def open_postgres_store(settings: Settings) -> Store:
    db = await Database.open(settings.database_url, pool_size=settings.postgres_pool_size)
    try:
        await migrate(db)
    except BaseException:
        await db.close()
        raise
    return Store(
        backend="postgres",
        users=PostgresUserRepository(db),
        refresh_tokens=PostgresRefreshTokenRepository(db),
        products=PostgresProductRepository(db),
        categories=PostgresCategoryRepository(db),
        carts=PostgresCartRepository(db),
        account_tokens=PostgresAccountTokenRepository(db),
        addresses=PostgresAddressRepository(db),
        guest_carts=PostgresGuestCartRepository(db),
        orders=PostgresOrderRepository(db),
        webhooks=PostgresWebhookRepository(db),
        checkout=PostgresCheckoutStore(db),
        ping=db.ping,
        close=db.close,
    )
