"""SQLite storage for carts: a ``carts`` row per user and a ``cart_items`` row per line.

A checkout's claim on the cart is the row's ``checkout_id`` and ``checkout_at``; claiming,
finishing and releasing it are each one write transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from shopkit_server.cart.models import (
    Cart,
    CartItem,
    CartLinesExceeded,
    LineLimitExceeded,
    MergedLine,
    MergePlanner,
)
from shopkit_server.money import from_cents, to_cents
from shopkit_server.products.models import StockLine
from shopkit_server.store.sqlite.db import Database, from_db_time, to_db_time

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE carts (
        user_id TEXT PRIMARY KEY,
        updated_at TEXT NOT NULL
    )""",
    # rowid gives the order lines were first added in; an upsert keeps a line's rowid.
    """CREATE TABLE cart_items (
        user_id TEXT NOT NULL REFERENCES carts (user_id) ON DELETE CASCADE,
        product_id TEXT NOT NULL,
        name TEXT NOT NULL,
        price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
        image_url TEXT,
        quantity INTEGER NOT NULL CHECK (quantity >= 1),
        UNIQUE (user_id, product_id)
    )""",
)

# Migration 2: the checkout claim (see the module docstring).
CHECKOUT_CLAIM: tuple[str, ...] = (
    "ALTER TABLE carts ADD COLUMN checkout_id TEXT",
    "ALTER TABLE carts ADD COLUMN checkout_at TEXT",
)


# Migration 4: a cart line is one variant. Each existing line takes its product's default
# variant (the only one every product had then); the table is rebuilt for the new unique key.
VARIANT_LINES: tuple[str, ...] = (
    """CREATE TABLE cart_items_by_variant (
        user_id TEXT NOT NULL REFERENCES carts (user_id) ON DELETE CASCADE,
        product_id TEXT NOT NULL,
        variant_id TEXT NOT NULL,
        name TEXT NOT NULL,
        price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
        image_url TEXT,
        quantity INTEGER NOT NULL CHECK (quantity >= 1),
        UNIQUE (user_id, variant_id)
    )""",
    "INSERT INTO cart_items_by_variant (user_id, product_id, variant_id, name, price_cents, "
    "image_url, quantity) SELECT c.user_id, c.product_id, COALESCE((SELECT v.id FROM "
    "product_variants v WHERE v.product_id = c.product_id ORDER BY v.seq LIMIT 1), "
    "c.product_id), c.name, c.price_cents, c.image_url, c.quantity FROM cart_items c "
    "ORDER BY c.rowid",
    "DROP TABLE cart_items",
    "ALTER TABLE cart_items_by_variant RENAME TO cart_items",
)


async def _load(conn: aiosqlite.Connection, user_id: str) -> Cart:
    carts = list(
        await conn.execute_fetchall("SELECT updated_at FROM carts WHERE user_id = ?", (user_id,))
    )
    if not carts:
        return Cart()
    rows = await conn.execute_fetchall(
        f"SELECT {_LINE_COLUMNS} FROM cart_items WHERE user_id = ? ORDER BY rowid",
        (user_id,),
    )
    return Cart(items=[_item(row) for row in rows], updated_at=from_db_time(carts[0]["updated_at"]))


_LINE_COLUMNS = "product_id, name, price_cents, image_url, quantity, variant_id"


def _item(row: Sequence[Any], at: int = 0) -> CartItem:
    """The cart line in ``row[at:]`` (columns as :data:`_LINE_COLUMNS`)."""
    return CartItem(
        product_id=row[at],
        name=row[at + 1],
        price=from_cents(row[at + 2]),
        quantity=row[at + 4],
        image_url=row[at + 3],
        variant_id=row[at + 5],
    )


# The cart's row, made as needed, stamped with the time of its last change.
_TOUCH = (
    "INSERT INTO carts (user_id, updated_at) VALUES (?, ?) "
    "ON CONFLICT (user_id) DO UPDATE SET updated_at = excluded.updated_at"
)


async def _touch(conn: aiosqlite.Connection, user_id: str, now: datetime) -> None:
    await conn.execute(_TOUCH, (user_id, to_db_time(now)))


# Units added to a line (created as needed); the name, price and image become the item's.
_LINE_UPSERT = (
    "INSERT INTO cart_items (user_id, product_id, variant_id, name, price_cents, image_url, "
    "quantity) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (user_id, variant_id) DO UPDATE SET "
    "quantity = quantity + excluded.quantity, name = excluded.name, "
    "price_cents = excluded.price_cents, image_url = excluded.image_url"
)


def _line_row(user_id: str, item: CartItem) -> tuple[object, ...]:
    """:data:`_LINE_UPSERT`'s parameters: ``item``'s units added to its line (keyed by variant)."""
    return (
        user_id,
        item.product_id,
        item.variant_id or item.product_id,
        item.name,
        to_cents(item.price),
        item.image_url,
        item.quantity,
    )


def _add_item(
    conn: sqlite3.Connection,
    user_id: str,
    item: CartItem,
    max_quantity: int,
    max_lines: int,
    now: datetime,
) -> Cart:
    key = item.variant_id or item.product_id  # lines are keyed by variant
    # The line's units (NULL: no such line yet) and the cart's number of lines, in one read.
    held, lines = conn.execute(
        "SELECT (SELECT quantity FROM cart_items WHERE user_id = ? AND variant_id = ?), "
        "(SELECT count(*) FROM cart_items WHERE user_id = ?)",
        (user_id, key, user_id),
    ).fetchone()
    current = int(held) if held is not None else 0
    if current + item.quantity > max_quantity:
        raise LineLimitExceeded(current)
    if held is None and int(lines) >= max_lines:
        raise CartLinesExceeded()
    stamp = to_db_time(now)
    conn.execute(_TOUCH, (user_id, stamp))
    conn.execute(_LINE_UPSERT, _line_row(user_id, item))
    return Cart(items=_lines(conn, user_id), updated_at=from_db_time(stamp))


def _lines(conn: sqlite3.Connection, user_id: str) -> list[CartItem]:
    return [
        _item(row)
        for row in conn.execute(
            f"SELECT {_LINE_COLUMNS} FROM cart_items WHERE user_id = ? ORDER BY rowid",
            (user_id,),
        )
    ]


def _stored(conn: sqlite3.Connection, user_id: str) -> Cart:
    row = conn.execute("SELECT updated_at FROM carts WHERE user_id = ?", (user_id,)).fetchone()
    if row is None:
        return Cart()
    return Cart(items=_lines(conn, user_id), updated_at=from_db_time(row[0]))


def _drop_guest_lines(conn: sqlite3.Connection, guest_id: str) -> None:
    conn.execute("DELETE FROM carts WHERE user_id = ?", (guest_id,))  # lines go with it


def _merge_guest(
    conn: sqlite3.Connection, token_hash: str, user_id: str, plan: MergePlanner, now: datetime
) -> list[MergedLine] | None:
    stamp = to_db_time(now)
    claimed = conn.execute(
        "UPDATE guest_carts SET merged_at = ?, merged_into = ? WHERE token_hash = ? "
        "AND merged_at IS NULL AND expires_at > ? RETURNING id",
        (stamp, user_id, token_hash, stamp),
    ).fetchall()
    if not claimed:
        return None
    guest_id = claimed[0][0]
    planned = plan(_stored(conn, guest_id), _stored(conn, user_id))
    if planned.adds:
        conn.execute(_TOUCH, (user_id, stamp))
        conn.executemany(_LINE_UPSERT, [_line_row(user_id, item) for item in planned.adds])
    _drop_guest_lines(conn, guest_id)
    return planned.lines


def _claim_checkout(
    conn: sqlite3.Connection,
    user_id: str,
    checkout_id: str,
    now: datetime,
    stale_before: datetime,
) -> Cart | None:
    claimed = conn.execute(
        "UPDATE carts SET checkout_id = ?, checkout_at = ? WHERE user_id = ? AND "
        "(checkout_id IS NULL OR checkout_id = ? OR checkout_at < ?)",
        (checkout_id, to_db_time(now), user_id, checkout_id, to_db_time(stale_before)),
    ).rowcount
    if claimed == 0:
        held = conn.execute("SELECT 1 FROM carts WHERE user_id = ?", (user_id,)).fetchone()
        if held is not None:
            return None  # another live checkout holds it
    return _stored(conn, user_id)


def _finish_checkout(
    conn: sqlite3.Connection,
    user_id: str,
    checkout_id: str,
    lines: Sequence[StockLine],
    now: datetime,
) -> None:
    claimed = conn.execute(
        "SELECT 1 FROM carts WHERE user_id = ? AND checkout_id = ?", (user_id, checkout_id)
    ).fetchone()
    if claimed is None:
        return  # finished already (a retry), or the claim was lost: change nothing
    keyed = [(line.variant_id or line.product_id, line.quantity) for line in lines]
    conn.executemany(
        "DELETE FROM cart_items WHERE user_id = ? AND variant_id = ? AND quantity <= ?",
        [(user_id, key, quantity) for key, quantity in keyed],
    )
    conn.executemany(
        "UPDATE cart_items SET quantity = quantity - ? WHERE user_id = ? AND variant_id = ?",
        [(quantity, user_id, key) for key, quantity in keyed],
    )
    conn.execute(
        "DELETE FROM carts WHERE user_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM cart_items WHERE user_id = ?)",
        (user_id, user_id),
    )
    conn.execute(
        "UPDATE carts SET updated_at = ?, checkout_id = NULL, checkout_at = NULL WHERE user_id = ?",
        (to_db_time(now), user_id),
    )


class SqliteCartRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: str) -> Cart:
        # One statement (one consistent read) on the loop thread: a cart holds at most
        # MAX_CART_LINES lines, found through the (user_id, variant_id) index.
        rows = await self._db.read_now(
            "SELECT c.updated_at, i.product_id, i.name, i.price_cents, i.image_url, i.quantity, "
            "i.variant_id FROM carts c LEFT JOIN cart_items i ON i.user_id = c.user_id "
            "WHERE c.user_id = ? ORDER BY i.rowid",
            (user_id,),
        )
        if not rows:
            return Cart()
        return Cart(
            items=[_item(row, 1) for row in rows if row[1] is not None],
            updated_at=from_db_time(rows[0][0]),
        )

    async def add_item(
        self,
        user_id: str,
        item: CartItem,
        *,
        max_quantity: int,
        max_lines: int,
        now: datetime,
    ) -> Cart:
        # One write transaction, run whole on the writer's thread: the writer lock (and BEGIN
        # IMMEDIATE across processes) makes the check and the increment one atomic step.
        return await self._db.transact(
            lambda conn: _add_item(conn, user_id, item, max_quantity, max_lines, now)
        )

    async def set_quantity(
        self, user_id: str, variant_id: str, quantity: int, *, now: datetime
    ) -> Cart | None:
        async with self._db.write() as conn:
            if quantity == 0:
                cursor = await conn.execute(
                    "DELETE FROM cart_items WHERE user_id = ? AND variant_id = ?",
                    (user_id, variant_id),
                )
            else:
                cursor = await conn.execute(
                    "UPDATE cart_items SET quantity = ? WHERE user_id = ? AND variant_id = ?",
                    (quantity, user_id, variant_id),
                )
            if cursor.rowcount == 0:
                return None
            await _touch(conn, user_id, now)
            return await _load(conn, user_id)

    async def remove_item(self, user_id: str, variant_id: str, *, now: datetime) -> Cart:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "DELETE FROM cart_items WHERE user_id = ? AND variant_id = ?",
                (user_id, variant_id),
            )
            if cursor.rowcount:
                await _touch(conn, user_id, now)
            return await _load(conn, user_id)

    async def clear(self, user_id: str) -> None:
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM carts WHERE user_id = ?", (user_id,))

    async def claim_checkout(
        self, user_id: str, checkout_id: str, *, now: datetime, stale_before: datetime
    ) -> Cart | None:
        return await self._db.transact(
            lambda conn: _claim_checkout(conn, user_id, checkout_id, now, stale_before)
        )

    async def finish_checkout(
        self, user_id: str, checkout_id: str, lines: Sequence[StockLine], *, now: datetime
    ) -> None:
        await self._db.transact(
            lambda conn: _finish_checkout(conn, user_id, checkout_id, lines, now)
        )

    async def merge_guest(
        self, token_hash: str, user_id: str, plan: MergePlanner, *, now: datetime
    ) -> list[MergedLine] | None:
        # One BEGIN IMMEDIATE transaction on the writer's thread: the claim, both reads, the
        # adds and the guest lines' delete commit together or not at all.
        return await self._db.transact(
            lambda conn: _merge_guest(conn, token_hash, user_id, plan, now)
        )

    async def release_checkout(self, user_id: str, checkout_id: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE carts SET checkout_id = NULL, checkout_at = NULL "
                "WHERE user_id = ? AND checkout_id = ?",
                (user_id, checkout_id),
            )
