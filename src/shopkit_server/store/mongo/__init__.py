"""The MongoDB backend, on PyMongo's native async API (``pymongo.AsyncMongoClient``)."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.uri_parser import parse_uri

from shopkit_server.settings import Settings
from shopkit_server.store.base import Store
from shopkit_server.store.mongo import accounts, carts, orders, outbox, products, users
from shopkit_server.store.mongo.db import CODEC_OPTIONS, MongoDatabase

DEFAULT_DATABASE = "shopkit"


def database_name(url: str) -> str:
    return parse_uri(url).get("database") or DEFAULT_DATABASE


async def open_mongo_store(settings: Settings, *, client: Any = None) -> Store:
    """Open (and index) the MongoDB store; ``client`` lets tests hand in their own client."""
    owned = client is None
    if client is None:
        client = AsyncMongoClient(
            settings.database_url, tz_aware=True, serverSelectionTimeoutMS=5000, appname="shopkit"
        )
    db: MongoDatabase = client.get_database(
        database_name(settings.database_url), codec_options=CODEC_OPTIONS
    )
    try:
        for module in (users, products, carts, orders, accounts, outbox):
            await module.ensure_indexes(db)
    except BaseException:
        if owned:
            await client.close()
        raise

    async def ping() -> None:
        await client.admin.command("ping")

    async def close() -> None:
        if owned:
            await client.close()

    return Store(
        backend="mongodb",
        users=users.MongoUserRepository(db),
        refresh_tokens=users.MongoRefreshTokenRepository(db),
        products=products.MongoProductRepository(db),
        categories=products.MongoCategoryRepository(db),
        carts=carts.MongoCartRepository(db),
        account_tokens=accounts.MongoAccountTokenRepository(db),
        addresses=accounts.MongoAddressRepository(db),
        guest_carts=accounts.MongoGuestCartRepository(db),
        orders=orders.MongoOrderRepository(db),
        webhooks=outbox.MongoWebhookRepository(db),
        ping=ping,
        close=close,
    )
