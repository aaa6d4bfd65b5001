"""Placing an order on SQLite in one ``BEGIN IMMEDIATE`` transaction, in one driver hop.

The whole checkout (see ``orders.repository.CheckoutStore``) is one synchronous function run on
the writer's thread (:meth:`Database.transact`): the writer is held for the SQL alone, never
across an await. Writes are serialised, so what it reads (the cart, the stock) cannot change
before it commits; the conditional stock update and ``CHECK (stock >= 0)`` stay as guards.
"""

from __future__ import annotations

import json
import sqlite3

from shopkit_server.cart.errors import CheckoutInProgress
from shopkit_server.money import from_cents
from shopkit_server.orders.models import IdempotencyRecord, Order, OutboxEvent
from shopkit_server.orders.repository import CatalogEntry, Placement, line_key
from shopkit_server.products.errors import (
    InsufficientStock,
    ReservationMismatch,
    ReservationReleased,
)
from shopkit_server.products.models import StockLine
from shopkit_server.products.service import merge_lines
from shopkit_server.store.sqlite.db import Database, to_db_time
from shopkit_server.store.sqlite.orders import hold_idempotency_key, insert_order
from shopkit_server.store.sqlite.outbox import EVENT_INSERT, event_rows
from shopkit_server.store.sqlite.stock import _encode
from shopkit_server.store.sqlite.variants import REFRESH_STOCK
from shopkit_server.webhooks import events

# REFRESH_STOCK, answering the product's name and new stock.
_REFRESH_RETURNING = f"{REFRESH_STOCK} RETURNING name, stock"


def _hold_key(conn: sqlite3.Connection, key: IdempotencyRecord) -> IdempotencyRecord | None:
    """Hold ``key`` for its order id; the record holding it for another order, or None."""
    held = hold_idempotency_key(conn, key)
    return None if held.order_id == key.order_id else held


def _place(conn: sqlite3.Connection, placement: Placement) -> Order | IdempotencyRecord:
    user_id, order_id = placement.user_id, placement.order_id
    if placement.key is not None:
        held = _hold_key(conn, placement.key)
        if held is not None:
            return held  # the upsert changed nothing: the commit writes nothing
    # The cart's claim and its lines in one statement (no row: no cart; a cart without lines
    # gives one row of NULL line columns).
    rows = conn.execute(
        "SELECT c.checkout_id, c.checkout_at, i.product_id, i.quantity, i.variant_id "
        "FROM carts c LEFT JOIN cart_items i ON i.user_id = c.user_id WHERE c.user_id = ? "
        "ORDER BY i.rowid",
        (user_id,),
    ).fetchall()
    if (
        rows
        and rows[0][0] is not None
        and rows[0][0] != order_id
        and rows[0][1] >= to_db_time(placement.cart_stale_before)
    ):
        raise CheckoutInProgress()
    lines = [StockLine(row[2], row[3], row[4]) for row in rows if row[2] is not None]
    ids = [line_key(line) for line in lines]
    entries: dict[str, CatalogEntry] = {}
    if ids:
        marks = ", ".join("?" * len(ids))
        # Each line's variant with what pricing needs of it and of its product.
        for row in conn.execute(
            "SELECT v.id, p.id, p.name, COALESCE(v.price_cents, p.base_price_cents), v.stock, "
            "p.is_active AND v.is_active, v.sku, v.option_values, "
            "COALESCE(v.image_url, p.image_url) FROM product_variants v "
            f"JOIN products p ON p.id = v.product_id WHERE v.id IN ({marks})",
            ids,
        ):
            entries[row[0]] = CatalogEntry(
                product_id=row[1],
                name=row[2],
                price=from_cents(row[3]),
                stock=row[4],
                is_active=bool(row[5]),
                variant_id=row[0],
                sku=row[6],
                option_values=json.loads(row[7]),
                image_url=row[8],
            )
    order = placement.price(lines, entries)

    # In the order merge_lines puts them (product, then variant), as the reserve path stores.
    reserved = merge_lines([StockLine(i.product_id, i.quantity, i.variant_id) for i in order.items])
    wanted = _encode(reserved)
    now = to_db_time(order.created_at)
    emptied: list[OutboxEvent] = []
    # The reservation first (one statement whether or not one is held under this id): a
    # conflict is a takeover of an attempt that reserved already, whose lines must match.
    inserted = conn.execute(
        "INSERT INTO stock_reservations (id, state, lines, created_at) "
        "VALUES (?, 'held', ?, ?) ON CONFLICT (id) DO NOTHING",
        (order_id, wanted, now),
    ).rowcount
    if inserted == 0:
        prior = conn.execute(
            "SELECT state, lines FROM stock_reservations WHERE id = ?", (order_id,)
        ).fetchone()
        if prior[0] == "released":
            raise ReservationReleased()
        if prior[1] != wanted:
            raise ReservationMismatch()
    else:
        taken = conn.executemany(
            "UPDATE product_variants SET stock = stock - ? "
            "WHERE id = ? AND is_active = 1 AND stock >= ?",
            [(line.quantity, line.variant_id, line.quantity) for line in reserved],
        ).rowcount
        if taken != len(reserved):  # priced against what it read: only a bug gets here
            raise InsufficientStock(
                list(
                    dict.fromkeys(
                        x.product_id
                        for x in reserved
                        if entries[x.variant_id or x.product_id].stock < x.quantity
                    )
                )
            )
        # The products' stock is the sum over their active variants, in the same transaction.
        # Serialised writes, and this order took units of each: a product at zero now reached
        # zero in this transaction.
        for product_id in dict.fromkeys(x.product_id for x in reserved):
            name, stock = conn.execute(_REFRESH_RETURNING, (product_id,)).fetchone()
            if stock == 0:
                emptied.append(events.out_of_stock(product_id, name, order.created_at))
    insert_order(conn, order)
    # The events of this checkout commit with it (the outbox).
    conn.executemany(EVENT_INSERT, event_rows([events.placed(order), *emptied]))
    # The order took every line the cart had (nothing could be added meanwhile): the cart
    # goes, its lines with it (ON DELETE CASCADE), and so does any claim on it.
    conn.execute("DELETE FROM carts WHERE user_id = ?", (user_id,))
    return order


class SqliteCheckoutStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def place_order(self, placement: Placement) -> Order | IdempotencyRecord:
        return await self._db.transact(lambda conn: _place(conn, placement))
