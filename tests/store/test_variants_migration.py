"""A database made by the schema before variants upgrades in place, losing nothing.

Built with the migrations as they stood (SQLite 1..3, PostgreSQL 1..2), filled with a product,
a cart line and a held stock reservation, then opened by today's store: every product has its
default variant, the line points at it, the reservation gives back to it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from shopkit_server.products.models import StockLine
from shopkit_server.settings import Settings
from shopkit_server.store import Store, open_store
from shopkit_server.store.postgres import open_postgres_store
from shopkit_server.store.postgres.schema import MIGRATIONS as PG_MIGRATIONS
from shopkit_server.store.sqlite.db import to_db_time
from shopkit_server.store.sqlite.schema import MIGRATIONS as SQLITE_MIGRATIONS
from tests.conftest import _settings
from tests.store.test_real_postgres import fresh_database, needs_server  # noqa: F401

PID, CID, USER = "a" * 24, "b" * 24, "c" * 24
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def _old_sqlite_file(path: Path) -> None:
    stamp = to_db_time(NOW)
    with sqlite3.connect(path) as conn:
        # The store's own SQL function (migration 3 case-folds the users' search keys).
        conn.create_function(
            "shopkit_casefold", 1, lambda text: None if text is None else str(text).casefold()
        )
        for migration in SQLITE_MIGRATIONS[:3]:
            for statement in migration:
                conn.execute(statement)
        conn.execute(
            "INSERT INTO categories (id, name, slug, sort_order, created_at) "
            "VALUES (?, 'Kitchen', 'kitchen', 0, ?)",
            (CID, stamp),
        )
        conn.execute(
            "INSERT INTO products (id, sku, name, name_key, description, price_cents, category, "
            "tags, image_url, stock, is_active, is_featured, created_at, updated_at) VALUES "
            "(?, 'MUG-1', 'Blue Mug', 'blue mug', 'A mug.', 1250, 'Kitchen', '[\"ceramic\"]', "
            "'https://img.example/mug.jpg', 7, 1, 0, ?, ?)",
            (PID, stamp, stamp),
        )
        conn.execute("INSERT INTO carts (user_id, updated_at) VALUES (?, ?)", (USER, stamp))
        conn.execute(
            "INSERT INTO cart_items (user_id, product_id, name, price_cents, image_url, quantity) "
            "VALUES (?, ?, 'Blue Mug', 1250, NULL, 2)",
            (USER, PID),
        )
        conn.execute(
            "INSERT INTO stock_reservations (id, state, lines, created_at) "
            "VALUES ('order-1', 'held', ?, ?)",
            (json.dumps([[PID, 3]]), stamp),
        )
        conn.execute("PRAGMA user_version = 3")


async def _old_postgres_database(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for migration in PG_MIGRATIONS[:2]:
                for statement in migration:
                    if isinstance(statement, str):
                        await conn.execute(statement)
                    else:
                        await statement(conn)
            await conn.execute("CREATE TABLE shopkit_schema (version integer NOT NULL)")
            await conn.execute("INSERT INTO shopkit_schema (version) VALUES (2)")
            await conn.execute(
                "INSERT INTO categories (id, name, slug, sort_order, created_at) "
                "VALUES ($1, 'Kitchen', 'kitchen', 0, $2)",
                CID,
                NOW,
            )
            await conn.execute(
                "INSERT INTO products (id, sku, name, name_key, description, price, category, "
                "tags, image_url, stock, is_active, is_featured, created_at, updated_at) VALUES "
                "($1, 'MUG-1', 'Blue Mug', 'blue mug', 'A mug.', 12.50, 'Kitchen', "
                "'{ceramic}', 'https://img.example/mug.jpg', 7, true, false, $2, $2)",
                PID,
                NOW,
            )
            await conn.execute("INSERT INTO carts (user_id, updated_at) VALUES ($1, $2)", USER, NOW)
            await conn.execute(
                "INSERT INTO cart_items (user_id, product_id, name, price, image_url, quantity) "
                "VALUES ($1, $2, 'Blue Mug', 12.50, NULL, 2)",
                USER,
                PID,
            )
            await conn.execute(
                "INSERT INTO stock_reservations (id, state, lines, created_at) "
                "VALUES ('order-1', 'held', $1::jsonb, $2)",
                json.dumps([[PID, 3]]),
                NOW,
            )
    finally:
        await conn.close()


async def _nothing_was_lost(store: Store) -> None:
    product = await store.products.get(PID)
    assert product is not None
    (variant,) = product.variants
    assert len(variant.id) == 24 and variant.id != PID
    assert (variant.sku, variant.stock, variant.option_values, variant.price) == (
        "MUG-1",
        7,
        {},
        None,
    )
    assert (product.sku, product.price, product.base_price, product.stock) == (
        "MUG-1",
        product.price,
        product.price,
        7,
    )
    assert str(product.price) == "12.50"
    assert [image.url for image in product.images] == ["https://img.example/mug.jpg"]
    assert product.image_url == "https://img.example/mug.jpg" and product.options == []
    # The cart line now names the default variant.
    cart = await store.carts.get(USER)
    (line,) = cart.items
    assert (line.product_id, line.variant_id, line.quantity) == (PID, variant.id, 2)
    # A reservation held before variants gives its units back to the default variant...
    await store.products.release("order-1")
    after = await store.products.get(PID)
    assert after is not None and (after.stock, after.variants[0].stock) == (10, 10)
    # ... and a line without a variant id (an older caller) takes from it.
    await store.products.reserve("order-2", [StockLine(PID, 4)])
    taken = await store.products.get(PID)
    assert taken is not None and (taken.stock, taken.variants[0].stock) == (6, 6)


async def test_a_sqlite_file_from_before_variants_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    _old_sqlite_file(path)
    store = await open_store(
        Settings(_env_file=None, database_url=f"sqlite:///{path}")  # type: ignore[call-arg]
    )
    try:
        await _nothing_was_lost(store)
        # The full-text index still finds the old product, and a rename reindexes it.
        await store.products.update(PID, {"name": "Green Cup"}, NOW)
        with sqlite3.connect(path) as conn:
            found = conn.execute(
                "SELECT rowid FROM products_fts WHERE products_fts MATCH 'green'"
            ).fetchall()
            gone = conn.execute(
                "SELECT rowid FROM products_fts WHERE products_fts MATCH 'blue'"
            ).fetchall()
        assert len(found) == 1 and gone == []
    finally:
        await store.close()


@needs_server
async def test_a_postgres_database_from_before_variants_upgrades_in_place(
    fresh_database: str,  # noqa: F811
) -> None:
    await _old_postgres_database(fresh_database)
    store = await open_postgres_store(_settings(fresh_database))
    try:
        await _nothing_was_lost(store)
    finally:
        await store.close()


@pytest.mark.parametrize("backend", ["mongo-standin"], indirect=True)
async def test_mongo_products_and_cart_lines_from_before_variants_are_backfilled(
    store: Store,
) -> None:
    from bson import ObjectId
    from bson.decimal128 import Decimal128

    from shopkit_server.store.mongo import carts, products

    db = store.products._products.database  # type: ignore[attr-defined]
    category = await db["categories"].find_one({}) or {"_id": ObjectId()}
    if "name" not in category:
        await db["categories"].insert_one(
            {"_id": category["_id"], "name": "Kitchen", "slug": "kitchen", "sort_order": 0}
        )
    await db["products"].insert_one(
        {
            "_id": ObjectId(PID),
            "sku": "MUG-1",
            "name": "Blue Mug",
            "name_key": "blue mug",
            "description": "A mug.",
            "price": Decimal128("12.50"),
            "category_id": category["_id"],
            "tags": ["ceramic"],
            "image_url": "https://img.example/mug.jpg",
            "stock": 7,
            "is_active": True,
            "is_featured": False,
            "created_at": NOW,
            "updated_at": NOW,
        }
    )
    await db["carts"].insert_one(
        {
            "user_id": USER,
            "items": [
                {
                    "product_id": PID,
                    "name": "Blue Mug",
                    "price": Decimal128("12.50"),
                    "quantity": 2,
                }
            ],
            "updated_at": NOW,
            "version": 1,
        }
    )
    await db["stock_reservations"].insert_one(
        {"_id": "order-1", "state": "held", "lines": [[PID, 3]], "created_at": NOW}
    )
    for _ in range(2):  # idempotent: a second start changes nothing
        await products.ensure_indexes(db)
        await carts.ensure_indexes(db)
    await _nothing_was_lost(store)
