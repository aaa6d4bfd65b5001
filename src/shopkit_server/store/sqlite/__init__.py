"""The embedded SQLite backend (aiosqlite, WAL, FTS5)."""

from __future__ import annotations

from shopkit_server.settings import Settings
from shopkit_server.store.base import Store
from shopkit_server.store.sqlite.accounts import (
    SqliteAccountTokenRepository,
    SqliteAddressRepository,
)
from shopkit_server.store.sqlite.carts import SqliteCartRepository
from shopkit_server.store.sqlite.checkout import SqliteCheckoutStore
from shopkit_server.store.sqlite.db import Database
from shopkit_server.store.sqlite.guest_carts import SqliteGuestCartRepository
from shopkit_server.store.sqlite.orders import SqliteOrderRepository
from shopkit_server.store.sqlite.outbox import SqliteWebhookRepository
from shopkit_server.store.sqlite.products import (
    SqliteCategoryRepository,
    SqliteProductRepository,
)
from shopkit_server.store.sqlite.schema import migrate
from shopkit_server.store.sqlite.users import (
    SqliteRefreshTokenRepository,
    SqliteUserRepository,
)


async def open_sqlite_store(settings: Settings) -> Store:
    db = await Database.open(settings.sqlite_path, readers=settings.sqlite_read_connections)
    try:
        await migrate(db)
    except BaseException:
        await db.close()
        raise
    return Store(
        backend="sqlite",
        users=SqliteUserRepository(db),
        refresh_tokens=SqliteRefreshTokenRepository(db),
        products=SqliteProductRepository(db),
        categories=SqliteCategoryRepository(db),
        carts=SqliteCartRepository(db),
        account_tokens=SqliteAccountTokenRepository(db),
        addresses=SqliteAddressRepository(db),
        guest_carts=SqliteGuestCartRepository(db),
        orders=SqliteOrderRepository(db),
        webhooks=SqliteWebhookRepository(db),
        checkout=SqliteCheckoutStore(db),
        ping=db.ping,
        close=db.close,
    )
