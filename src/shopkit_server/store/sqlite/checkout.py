"""Placing an order on SQLite in one ``BEGIN IMMEDIATE`` transaction, in one driver hop.

The whole checkout (see ``orders.repository.CheckoutStore``) is one synchronous function run on
the writer's thread (:meth:`Database.transact`): the writer is held for the SQL alone, never
across an await. Writes are serialised, so what it reads (the cart, the stock) cannot change
before it commits; the conditional stock update and ``CHECK (stock >= 0)`` stay as guards.
"""

from __future__ import annotations

import sqlite3

from shopkit_server.cart.errors import CheckoutInProgress
from shopkit_server.money import from_cents, to_cents
from shopkit_server.orders.models import IDEMPOTENCY_KEY_TTL, IdempotencyRecord, Order
from shopkit_server.orders.repository import CatalogEntry, Placement
from shopkit_server.products.errors import (
    InsufficientStock,
    ReservationMismatch,
    ReservationReleased,
)
from shopkit_server.products.models import StockLine
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.sqlite.db import Database, from_db_time, to_db_time
from shopkit_server.store.sqlite.orders import _KEY_COLUMNS, _ORDER_COLUMNS, _address_json
from shopkit_server.store.sqlite.stock import _encode


def _record(row: sqlite3.Row) -> IdempotencyRecord:
    return IdempotencyRecord(
        user_id=row[0],
        key=row[1],
        request_hash=row[2],
        order_id=row[3],
        created_at=from_db_time(row[4]),
        claimed_at=from_db_time(row[5]),
    )


def _hold_key(conn: sqlite3.Connection, key: IdempotencyRecord) -> IdempotencyRecord | None:
    """Hold ``key`` for its order id; the record holding it for another order, or None."""
    # An expired record of the key is replaced in place (the periodic sweep deletes the rest).
    conn.execute(
        f"INSERT INTO idempotency_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash, "
        "order_id = excluded.order_id, created_at = excluded.created_at, "
        "claimed_at = excluded.claimed_at WHERE idempotency_keys.created_at < ?",
        (
            key.user_id,
            key.key,
            key.request_hash,
            key.order_id,
            to_db_time(key.created_at),
            to_db_time(key.claimed_at),
            to_db_time(key.created_at - IDEMPOTENCY_KEY_TTL),
        ),
    )
    row = conn.execute(
        f"SELECT {_KEY_COLUMNS} FROM idempotency_keys WHERE user_id = ? AND key = ?",
        (key.user_id, key.key),
    ).fetchone()
    if row[3] == key.order_id:
        return None
    return _record(row)


def _place(conn: sqlite3.Connection, placement: Placement) -> Order | IdempotencyRecord:
    user_id, order_id = placement.user_id, placement.order_id
    if placement.key is not None:
        held = _hold_key(conn, placement.key)
        if held is not None:
            return held  # the upsert changed nothing: the commit writes nothing
    cart = conn.execute(
        "SELECT checkout_id, checkout_at FROM carts WHERE user_id = ?", (user_id,)
    ).fetchone()
    if (
        cart is not None
        and cart[0] is not None
        and cart[0] != order_id
        and cart[1] >= to_db_time(placement.cart_stale_before)
    ):
        raise CheckoutInProgress()
    lines = [
        StockLine(row[0], row[1])
        for row in conn.execute(
            "SELECT product_id, quantity FROM cart_items WHERE user_id = ? ORDER BY rowid",
            (user_id,),
        )
    ]
    ids = [line.product_id for line in lines]
    entries: dict[str, CatalogEntry] = {}
    if ids:
        marks = ", ".join("?" * len(ids))
        for row in conn.execute(
            f"SELECT id, name, price_cents, stock, is_active FROM products WHERE id IN ({marks})",
            ids,
        ):
            entries[row[0]] = CatalogEntry(row[0], row[1], from_cents(row[2]), row[3], bool(row[4]))
    order = placement.price(lines, entries)

    reserved = sorted((item.product_id, item.quantity) for item in order.items)
    wanted = _encode([StockLine(pid, qty) for pid, qty in reserved])
    now = to_db_time(order.created_at)
    prior = conn.execute(
        "SELECT state, lines FROM stock_reservations WHERE id = ?", (order_id,)
    ).fetchone()
    if prior is not None:  # a takeover of an attempt that reserved already
        if prior[0] == "released":
            raise ReservationReleased()
        if prior[1] != wanted:
            raise ReservationMismatch()
    else:
        taken = conn.executemany(
            "UPDATE products SET stock = stock - ?, updated_at = ? "
            "WHERE id = ? AND is_active = 1 AND stock >= ?",
            [(qty, now, pid, qty) for pid, qty in reserved],
        ).rowcount
        if taken != len(reserved):  # priced against what it read: only a bug gets here
            raise InsufficientStock([pid for pid, qty in reserved if entries[pid].stock < qty])
        conn.execute(
            "INSERT INTO stock_reservations (id, state, lines, created_at) "
            "VALUES (?, 'held', ?, ?)",
            (order_id, wanted, now),
        )
    try:
        conn.execute(
            f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                order.id,
                order.user_id,
                order.status.value,
                to_cents(order.subtotal),
                to_cents(order.shipping_cost),
                to_cents(order.tax),
                to_cents(order.total),
                _address_json(order.shipping_address),
                now,
                to_db_time(order.updated_at),
            ),
        )
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" not in str(exc):
            raise
        raise DuplicateKeyError("id") from exc
    conn.executemany(
        "INSERT INTO order_items (order_id, position, product_id, name, price_cents, "
        "quantity, item_total_cents) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                order.id,
                position,
                item.product_id,
                item.name,
                to_cents(item.price),
                item.quantity,
                to_cents(item.item_total),
            )
            for position, item in enumerate(order.items)
        ],
    )
    conn.executemany(
        "INSERT INTO order_status_history (order_id, position, status, at) VALUES (?, ?, ?, ?)",
        [
            (order.id, position, change.status.value, to_db_time(change.at))
            for position, change in enumerate(order.status_history)
        ],
    )
    # The order took every line the cart had (nothing could be added meanwhile): the cart
    # goes, its lines with it (ON DELETE CASCADE), and so does any claim on it.
    conn.execute("DELETE FROM carts WHERE user_id = ?", (user_id,))
    return order


class SqliteCheckoutStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def place_order(self, placement: Placement) -> Order | IdempotencyRecord:
        return await self._db.transact(lambda conn: _place(conn, placement))
