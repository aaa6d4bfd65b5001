"""The references: a minimal FastAPI + aiosqlite app, same uvicorn settings as shopkit.

- ``GET /hello``: FastAPI's hello world.
- ``GET /products/{id}``: shopkit's own SQL for a product by id, on shopkit's SQLite file
  (``BENCH_DB``), the row turned into a dict and returned (FastAPI's default JSON).
- ``POST /cart/{user}/items`` and ``POST /orders/{user}`` on ``BENCH_REF_DB`` (tables made by
  :func:`create_schema`): the writes a checkout does (idempotency key, stock taken for every
  line or none, order + lines + status history, the cart emptied), in one ``BEGIN IMMEDIATE``.
  No auth, no validation beyond the stock check: the floor under shopkit's checkout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiosqlite
from fastapi import FastAPI, Header, HTTPException

COLUMNS = (
    "p.id, p.sku, p.name, p.description, p.price_cents, p.category, p.tags, p.image_url, "
    "p.stock, p.is_active, p.is_featured, p.created_at, p.updated_at"
)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS products (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "price_cents INTEGER NOT NULL, stock INTEGER NOT NULL CHECK (stock >= 0))",
    "CREATE TABLE IF NOT EXISTS cart_items (user_id TEXT NOT NULL, product_id TEXT NOT NULL, "
    "name TEXT NOT NULL, price_cents INTEGER NOT NULL, quantity INTEGER NOT NULL, "
    "UNIQUE (user_id, product_id))",
    "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, "
    "status TEXT NOT NULL, total_cents INTEGER NOT NULL, shipping_address TEXT NOT NULL, "
    "created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS order_items (order_id TEXT NOT NULL, position INTEGER NOT NULL, "
    "product_id TEXT NOT NULL, name TEXT NOT NULL, price_cents INTEGER NOT NULL, "
    "quantity INTEGER NOT NULL, PRIMARY KEY (order_id, position)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS order_status_history (order_id TEXT NOT NULL, "
    "position INTEGER NOT NULL, status TEXT NOT NULL, at TEXT NOT NULL, "
    "PRIMARY KEY (order_id, position)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS idempotency_keys (user_id TEXT NOT NULL, key TEXT NOT NULL, "
    "order_id TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (user_id, key))",
)


def create_schema(path: str, products: list[tuple[str, str, int, int]]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        for statement in SCHEMA:
            conn.execute(statement)
        conn.executemany("INSERT INTO products VALUES (?, ?, ?, ?)", products)


_db: dict[str, aiosqlite.Connection] = {}
_writer = asyncio.Lock()  # one connection writes: a transaction must not take in another's writes


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    if os.environ.get("BENCH_DB"):
        _db["read"] = await aiosqlite.connect(os.environ["BENCH_DB"])
    if os.environ.get("BENCH_REF_DB"):
        conn = await aiosqlite.connect(os.environ["BENCH_REF_DB"], isolation_level=None)
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        _db["write"] = conn
    yield
    for conn in _db.values():
        await conn.close()


app = FastAPI(lifespan=lifespan)
_NAMES = ("id sku name description price_cents category tags image_url stock is_active "
          "is_featured created_at updated_at").split()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "Hello World"}


@app.get("/products/{product_id}")
async def product(product_id: str) -> dict[str, Any]:
    async with _db["read"].execute(f"SELECT {COLUMNS} FROM products p WHERE p.id = ?",
                                   (product_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise HTTPException(404)
    item = dict(zip(_NAMES, row, strict=True))
    item["price"] = item.pop("price_cents") / 100
    item["tags"] = json.loads(item["tags"])
    item["is_active"], item["is_featured"] = bool(item["is_active"]), bool(item["is_featured"])
    return item


@app.post("/cart/{user}/items")
async def add_item(user: str, body: dict[str, Any]) -> dict[str, Any]:
    conn = _db["write"]
    async with conn.execute("SELECT name, price_cents FROM products WHERE id = ?",
                            (body["product_id"],)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise HTTPException(404)
    async with _writer:
        await conn.execute(
            "INSERT INTO cart_items VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, product_id) "
            "DO UPDATE SET quantity = quantity + excluded.quantity",
            (user, body["product_id"], row[0], row[1], int(body.get("quantity", 1))))
    return {"ok": True}


@app.post("/orders/{user}", status_code=201)
async def place_order(user: str, body: dict[str, Any],
                      idempotency_key: str = Header()) -> dict[str, Any]:
    conn = _db["write"]
    order_id = uuid.uuid4().hex
    now = datetime.now(UTC).isoformat()
    async with _writer:
        return await _place(conn, user, body, idempotency_key, order_id, now)


async def _place(conn: aiosqlite.Connection, user: str, body: dict[str, Any], key: str,
                 order_id: str, now: str) -> dict[str, Any]:
    await conn.execute("BEGIN IMMEDIATE")
    try:
        await conn.execute("INSERT INTO idempotency_keys VALUES (?, ?, ?, ?)",
                           (user, key, order_id, now))
        async with conn.execute("SELECT product_id, name, price_cents, quantity FROM cart_items "
                                "WHERE user_id = ? ORDER BY rowid", (user,)) as cursor:
            lines = list(await cursor.fetchall())
        if not lines:
            raise HTTPException(400, "cart_empty")
        for product_id, _, _, quantity in lines:
            cursor = await conn.execute(
                "UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?",
                (quantity, product_id, quantity))
            if cursor.rowcount != 1:
                raise HTTPException(409, "insufficient_stock")
        total = sum(price * quantity for _, _, price, quantity in lines)
        await conn.execute("INSERT INTO orders VALUES (?, ?, 'pending', ?, ?, ?)",
                           (order_id, user, total, json.dumps(body["shipping_address"]), now))
        await conn.executemany(
            "INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?)",
            [(order_id, i, pid, name, price, qty) for i, (pid, name, price, qty) in
             enumerate(lines)])
        await conn.execute("INSERT INTO order_status_history VALUES (?, 0, 'pending', ?)",
                           (order_id, now))
        await conn.execute("DELETE FROM cart_items WHERE user_id = ?", (user,))
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    return {"id": order_id, "total_cents": total, "status": "pending"}
