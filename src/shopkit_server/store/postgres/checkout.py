"""Placing an order on PostgreSQL in one ``READ COMMITTED`` transaction.

Invariants rest on row locks, taken in one order by every checkout: the Idempotency-Key row
(its unique index: a concurrent claim of the key waits for this transaction, then reads what
it committed), the user's ``carts`` row, then the products sorted by id (as every stock
reservation and release locks them), so concurrent checkouts never deadlock. What is read
under those locks cannot change before the commit; the conditional stock update and
``CHECK (stock >= 0)`` stay as guards.
"""

from __future__ import annotations

import asyncpg

from shopkit_server.cart.errors import CheckoutInProgress
from shopkit_server.orders.models import IDEMPOTENCY_KEY_TTL, IdempotencyRecord, Order, OutboxEvent
from shopkit_server.orders.repository import CatalogEntry, Placement, line_key
from shopkit_server.products.errors import (
    InsufficientStock,
    ReservationMismatch,
    ReservationReleased,
)
from shopkit_server.products.models import StockLine
from shopkit_server.products.service import merge_lines
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.postgres.db import Connection, Database
from shopkit_server.store.postgres.orders import _KEY_COLUMNS, _record, insert_order
from shopkit_server.store.postgres.outbox import insert_events
from shopkit_server.store.postgres.stock import _encode
from shopkit_server.store.postgres.variants import REFRESH_STOCK
from shopkit_server.webhooks import events


async def _hold_key(conn: Connection, key: IdempotencyRecord) -> IdempotencyRecord | None:
    """Hold ``key`` for its order id; the record holding it for another order, or None."""
    while True:
        # An expired record of the key is replaced in place (the periodic sweep deletes the
        # rest). ON CONFLICT waits for a concurrent holder of the key to end.
        row = await conn.fetchrow(
            f"INSERT INTO idempotency_keys ({_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash, "
            "order_id = excluded.order_id, created_at = excluded.created_at, "
            "claimed_at = excluded.claimed_at WHERE idempotency_keys.created_at < $7 "
            "RETURNING order_id",
            key.user_id,
            key.key,
            key.request_hash,
            key.order_id,
            key.created_at,
            key.claimed_at,
            key.created_at - IDEMPOTENCY_KEY_TTL,
        )
        if row is not None:
            return None  # stored for us
        row = await conn.fetchrow(
            f"SELECT {_KEY_COLUMNS} FROM idempotency_keys WHERE user_id = $1 AND key = $2",
            key.user_id,
            key.key,
        )
        if row is None:
            continue  # released between the two statements: the key is free, insert again
        return None if row["order_id"] == key.order_id else _record(row)


async def _place(conn: Connection, placement: Placement) -> Order | IdempotencyRecord:
    user_id, order_id = placement.user_id, placement.order_id
    if placement.key is not None:
        held = await _hold_key(conn, placement.key)
        if held is not None:
            return held
    # The cart row, locked (a second checkout of this cart waits, then finds it ordered; an
    # add waits for this one to commit), then its lines in first-added order. Two statements:
    # one that joined the lines to the locked row would, after waiting for an add to commit,
    # re-check the cart row but keep the lines of its own snapshot, without the added one,
    # which the cart's deletion below would then take with it (read committed: the second
    # statement sees everything committed before the lock was granted).
    cart = await conn.fetchrow(
        "SELECT checkout_id, checkout_at FROM carts WHERE user_id = $1 FOR UPDATE", user_id
    )
    lines: list[StockLine] = []
    if cart is not None:
        claim, claimed_at = cart["checkout_id"], cart["checkout_at"]
        if claim is not None and claim != order_id and claimed_at >= placement.cart_stale_before:
            raise CheckoutInProgress()
        lines = [
            StockLine(row["product_id"], row["quantity"], row["variant_id"])
            for row in await conn.fetch(
                "SELECT product_id, quantity, variant_id FROM cart_items WHERE user_id = $1 "
                "ORDER BY seq",
                user_id,
            )
        ]
    entries: dict[str, CatalogEntry] = {}
    if lines:
        # The products locked by id (the order every stock writer locks them in), then each
        # line's variant with what pricing needs of it and of its product.
        await conn.execute(
            "SELECT 1 FROM products WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
            list(dict.fromkeys(line.product_id for line in lines)),
        )
        for row in await conn.fetch(
            "SELECT v.id, p.id, p.name, COALESCE(v.price, p.base_price), v.stock, "
            "p.is_active AND v.is_active, v.sku, v.option_values, "
            "COALESCE(v.image_url, p.image_url) FROM product_variants v "
            "JOIN products p ON p.id = v.product_id WHERE v.id = ANY($1::text[])",
            [line_key(line) for line in lines],
        ):
            entries[row[0]] = CatalogEntry(
                product_id=row[1],
                name=row[2],
                price=row[3],
                stock=row[4],
                is_active=row[5],
                variant_id=row[0],
                sku=row[6],
                option_values=dict(row[7]),
                image_url=row[8],
            )
    order = placement.price(lines, entries)

    # In the order merge_lines puts them (product, then variant), as the reserve path stores.
    reserved = merge_lines([StockLine(i.product_id, i.quantity, i.variant_id) for i in order.items])
    wanted = _encode(reserved)
    now = order.created_at
    fresh = await conn.fetchval(
        "INSERT INTO stock_reservations (id, state, lines, created_at) "
        "VALUES ($1, 'held', $2, $3) ON CONFLICT (id) DO NOTHING RETURNING id",
        order_id,
        wanted,
        now,
    )
    emptied: list[OutboxEvent] = []
    if fresh is None:  # a takeover of an attempt that reserved already
        prior = await conn.fetchrow(
            "SELECT state, lines FROM stock_reservations WHERE id = $1", order_id
        )
        assert prior is not None  # reservations are never deleted
        if prior["state"] == "released":
            raise ReservationReleased()
        if prior["lines"] != wanted:
            raise ReservationMismatch()
    else:
        taken = await conn.fetch(
            "UPDATE product_variants v SET stock = v.stock - l.quantity "
            "FROM unnest($1::text[], $2::int[]) AS l (id, quantity) "
            "WHERE v.id = l.id AND v.is_active AND v.stock >= l.quantity RETURNING v.id",
            [x.variant_id for x in reserved],
            [x.quantity for x in reserved],
        )
        if len(taken) != len(reserved):  # priced against what it read: only a bug gets here
            raise InsufficientStock(
                list(
                    dict.fromkeys(
                        x.product_id
                        for x in reserved
                        if entries[x.variant_id or x.product_id].stock < x.quantity
                    )
                )
            )
        # The products' stock is the sum over their active variants, in the same transaction;
        # this order took units of each (under their row locks): one at zero reached it here.
        refreshed = await conn.fetch(
            f"{REFRESH_STOCK} RETURNING p.id, p.name, p.stock",
            list(dict.fromkeys(x.product_id for x in reserved)),
        )
        emptied = [
            events.out_of_stock(r["id"], r["name"], now) for r in refreshed if r["stock"] == 0
        ]
    # The order, its lines and its first status in one statement, then the cart: the order
    # took every line (nothing could be added under the lock), so the cart goes, its lines
    # with it, and any claim on it.
    try:
        await insert_order(conn, order)
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateKeyError("id") from exc
    # The events of this checkout commit with it (the outbox).
    await insert_events(conn, [events.placed(order), *emptied])
    await conn.execute("DELETE FROM carts WHERE user_id = $1", user_id)
    return order


class PostgresCheckoutStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def place_order(self, placement: Placement) -> Order | IdempotencyRecord:
        async def run(conn: Connection) -> Order | IdempotencyRecord:
            return await _place(conn, placement)

        return await self._db.transaction(run)
