"""SQLite storage for orders (money as integer cents) and checkout Idempotency-Keys."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from shopkit_server.clock import utc_now
from shopkit_server.money import from_cents, to_cents
from shopkit_server.orders.models import (
    IDEMPOTENCY_KEY_TTL,
    Address,
    IdempotencyRecord,
    Order,
    OrderItem,
    OrderStatus,
    OutboxEvent,
    PaymentStatus,
    StatusChange,
)
from shopkit_server.pagination import Key, PageResult, check_key
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.sqlite.db import Database, Row, from_db_time, to_db_time
from shopkit_server.store.sqlite.outbox import insert_events, insert_events_now

_STATUSES = ", ".join(f"'{status.value}'" for status in OrderStatus)

SCHEMA: tuple[str, ...] = (
    f"""CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ({_STATUSES})),
        subtotal_cents INTEGER NOT NULL CHECK (subtotal_cents >= 0),
        shipping_cents INTEGER NOT NULL CHECK (shipping_cents >= 0),
        tax_cents INTEGER NOT NULL CHECK (tax_cents >= 0),
        total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
        shipping_address TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX orders_user_created ON orders (user_id, created_at DESC, id DESC)",
    "CREATE INDEX orders_status_created ON orders (status, created_at DESC, id DESC)",
    "CREATE INDEX orders_created ON orders (created_at DESC, id DESC)",
    """CREATE TABLE order_items (
        order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        product_id TEXT NOT NULL,
        name TEXT NOT NULL,
        price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
        quantity INTEGER NOT NULL CHECK (quantity >= 1),
        item_total_cents INTEGER NOT NULL CHECK (item_total_cents >= 0),
        PRIMARY KEY (order_id, position)
    ) WITHOUT ROWID""",
    """CREATE TABLE order_status_history (
        order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (order_id, position)
    ) WITHOUT ROWID""",
    """CREATE TABLE idempotency_keys (
        user_id TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        order_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        PRIMARY KEY (user_id, key)
    )""",
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
)

_PAYMENT_STATUSES = ", ".join(f"'{status.value}'" for status in PaymentStatus)

# Migration: how an order is paid, its payment status (in the history too), the provider's
# payment id; the sweeper's index.
PAYMENTS: tuple[str, ...] = (
    "ALTER TABLE orders ADD COLUMN payment_method TEXT NOT NULL DEFAULT 'manual'",
    "ALTER TABLE orders ADD COLUMN payment_status TEXT NOT NULL DEFAULT 'unpaid' "
    f"CHECK (payment_status IN ({_PAYMENT_STATUSES}))",
    "ALTER TABLE orders ADD COLUMN payment_intent_id TEXT",
    "ALTER TABLE order_status_history ADD COLUMN payment_status TEXT NOT NULL DEFAULT 'unpaid'",
    "CREATE INDEX orders_payment_due ON orders (status, payment_status, created_at)",
)

# Migration 4: an order item snapshots its variant (id, sku, option values, image). Items of
# orders placed before variants keep ``variant_id`` NULL.
VARIANT_ITEMS: tuple[str, ...] = (
    "ALTER TABLE order_items ADD COLUMN variant_id TEXT",
    "ALTER TABLE order_items ADD COLUMN sku TEXT",
    "ALTER TABLE order_items ADD COLUMN option_values TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE order_items ADD COLUMN image_url TEXT",
)

ORDER_ITEM_INSERT = (
    "INSERT INTO order_items (order_id, position, product_id, name, price_cents, quantity, "
    "item_total_cents, variant_id, sku, option_values, image_url) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def order_item_rows(order: Order) -> list[tuple[Any, ...]]:
    """The ``order_items`` rows of an order (the variant snapshot with each)."""
    return [
        (
            order.id,
            position,
            item.product_id,
            item.name,
            to_cents(item.price),
            item.quantity,
            to_cents(item.item_total),
            item.variant_id,
            item.sku,
            json.dumps(item.option_values),
            item.image_url,
        )
        for position, item in enumerate(order.items)
    ]


_ORDER_COLUMNS = (
    "id, user_id, status, subtotal_cents, shipping_cents, tax_cents, total_cents, "
    "shipping_address, created_at, updated_at, payment_method, payment_status, payment_intent_id"
)
_KEY_COLUMNS = "user_id, key, request_hash, order_id, created_at, claimed_at"
# An order's row and its status history (with ORDER_ITEM_INSERT, all an order is); the
# checkout transaction (checkout.py) and insert_order both write them with these.
ORDER_INSERT = f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES ({', '.join('?' * 13)})"
STATUS_HISTORY_INSERT = (
    "INSERT INTO order_status_history (order_id, position, status, at, payment_status) "
    "VALUES (?, ?, ?, ?, ?)"
)


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


async def _load(conn: aiosqlite.Connection, rows: Sequence[Row]) -> list[Order]:
    """Turn order rows into orders with two more queries in all (never one per order)."""
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    marks = _placeholders(len(ids))
    items: dict[str, list[OrderItem]] = {order_id: [] for order_id in ids}
    for row in await conn.execute_fetchall(
        "SELECT order_id, product_id, name, price_cents, quantity, item_total_cents, "
        "variant_id, sku, option_values, image_url "
        f"FROM order_items WHERE order_id IN ({marks}) ORDER BY order_id, position",
        ids,
    ):
        items[row["order_id"]].append(
            OrderItem(
                product_id=row["product_id"],
                name=row["name"],
                price=from_cents(row["price_cents"]),
                quantity=row["quantity"],
                item_total=from_cents(row["item_total_cents"]),
                variant_id=row["variant_id"],
                sku=row["sku"],
                option_values=json.loads(row["option_values"]),
                image_url=row["image_url"],
            )
        )
    history: dict[str, list[StatusChange]] = {order_id: [] for order_id in ids}
    for row in await conn.execute_fetchall(
        "SELECT order_id, status, at, payment_status FROM order_status_history "
        f"WHERE order_id IN ({marks}) ORDER BY order_id, position",
        ids,
    ):
        history[row["order_id"]].append(
            StatusChange(
                OrderStatus(row["status"]),
                from_db_time(row["at"]),
                PaymentStatus(row["payment_status"]),
            )
        )
    return [
        Order(
            id=row["id"],
            user_id=row["user_id"],
            items=items[row["id"]],
            subtotal=from_cents(row["subtotal_cents"]),
            shipping_cost=from_cents(row["shipping_cents"]),
            tax=from_cents(row["tax_cents"]),
            total=from_cents(row["total_cents"]),
            shipping_address=Address(**json.loads(row["shipping_address"])),
            status=OrderStatus(row["status"]),
            status_history=history[row["id"]],
            created_at=from_db_time(row["created_at"]),
            updated_at=from_db_time(row["updated_at"]),
            payment_method=row["payment_method"],
            payment_status=PaymentStatus(row["payment_status"]),
            payment_intent_id=row["payment_intent_id"],
        )
        for row in rows
    ]


def _address_json(address: Address) -> str:
    return json.dumps(
        {
            "full_name": address.full_name,
            "address_line1": address.address_line1,
            "address_line2": address.address_line2,
            "city": address.city,
            "state": address.state,
            "postal_code": address.postal_code,
            "country": address.country,
            "phone": address.phone,
        }
    )


def _record(row: Row) -> IdempotencyRecord:
    return IdempotencyRecord(
        user_id=row["user_id"],
        key=row["key"],
        request_hash=row["request_hash"],
        order_id=row["order_id"],
        created_at=from_db_time(row["created_at"]),
        claimed_at=from_db_time(row["claimed_at"]),
    )


def order_row(order: Order) -> tuple[Any, ...]:
    """The ``orders`` row of an order (for :data:`ORDER_INSERT`)."""
    return (
        order.id,
        order.user_id,
        order.status.value,
        to_cents(order.subtotal),
        to_cents(order.shipping_cost),
        to_cents(order.tax),
        to_cents(order.total),
        _address_json(order.shipping_address),
        to_db_time(order.created_at),
        to_db_time(order.updated_at),
        order.payment_method,
        order.payment_status.value,
        order.payment_intent_id,
    )


def status_history_rows(order: Order) -> list[tuple[Any, ...]]:
    """The ``order_status_history`` rows of an order (for :data:`STATUS_HISTORY_INSERT`)."""
    return [
        (
            order.id,
            position,
            change.status.value,
            to_db_time(change.at),
            change.payment_status.value,
        )
        for position, change in enumerate(order.status_history)
    ]


def insert_order(conn: sqlite3.Connection, order: Order) -> None:
    """Insert a new order with its lines and history inside the caller's transaction (on the
    writer's thread); an order id already taken is :class:`DuplicateKeyError`."""
    try:
        conn.execute(ORDER_INSERT, order_row(order))
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" not in str(exc):
            raise
        raise DuplicateKeyError("id") from exc
    conn.executemany(ORDER_ITEM_INSERT, order_item_rows(order))
    conn.executemany(STATUS_HISTORY_INSERT, status_history_rows(order))


def hold_idempotency_key(conn: sqlite3.Connection, record: IdempotencyRecord) -> IdempotencyRecord:
    """Claim ``record``'s key inside the caller's transaction (on the writer's thread); the
    record that holds it afterwards (``record``'s order id, or the earlier claim's)."""
    # An expired record of the key is replaced in place, so an old key is free again
    # (the periodic sweep, ``sweep_idempotency_keys``, deletes the others).
    written = conn.execute(
        f"INSERT INTO idempotency_keys ({_KEY_COLUMNS}) VALUES ({_placeholders(6)}) "
        "ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash, "
        "order_id = excluded.order_id, created_at = excluded.created_at, "
        "claimed_at = excluded.claimed_at WHERE idempotency_keys.created_at < ?",
        (
            record.user_id,
            record.key,
            record.request_hash,
            record.order_id,
            to_db_time(record.created_at),
            to_db_time(record.claimed_at),
            to_db_time(record.created_at - IDEMPOTENCY_KEY_TTL),
        ),
    ).rowcount
    if written == 1:  # inserted, or an expired record replaced: the key is ``record`` now
        return record
    row = conn.execute(
        f"SELECT {_KEY_COLUMNS} FROM idempotency_keys WHERE user_id = ? AND key = ?",
        (record.user_id, record.key),
    ).fetchone()
    return _record(row)


def _add(conn: sqlite3.Connection, order: Order, events: Sequence[OutboxEvent]) -> None:
    insert_order(conn, order)
    insert_events_now(conn, events)


class SqliteOrderRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, order: Order, events: Sequence[OutboxEvent] = ()) -> None:
        # One hop to the writer's thread for the whole transaction.
        await self._db.transact(lambda conn: _add(conn, order, events))

    async def get(self, order_id: str) -> Order | None:
        async with self._db.read() as conn:
            rows = list(
                await conn.execute_fetchall(
                    f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = ?", (order_id,)
                )
            )
            orders = await _load(conn, rows)
        return orders[0] if orders else None

    async def list(
        self,
        *,
        user_id: str | None,
        status: OrderStatus | None,
        offset: int,
        limit: int,
        after: Key | None = None,
    ) -> PageResult[Order]:
        clauses: builtins.list[str] = []
        params: builtins.list[object] = []
        if user_id is not None:
            clauses.append("user_id = ?")
            params.append(user_id)
        if status is not None:
            clauses.append("status = ?")
            params.append(status.value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        page_clauses, page_params = list(clauses), list(params)
        if after is not None:  # keyset: the (created_at DESC, id DESC) indexes serve the range
            page_clauses.append("(created_at, id) < (?, ?)")
            page_params.extend(check_key(after, str, str))
        page_where = f"WHERE {' AND '.join(page_clauses)}" if page_clauses else ""
        # One read transaction: the total, the page and its lines all from the same state.
        async with self._db.snapshot() as conn:
            total_rows = list(
                await conn.execute_fetchall(f"SELECT count(*) FROM orders {where}", params)
            )
            rows = list(
                await conn.execute_fetchall(
                    f"SELECT {_ORDER_COLUMNS} FROM orders {page_where} "
                    "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                    [*page_params, limit + 1, offset],
                )
            )
            next_key: Key | None = None
            if len(rows) > limit:
                rows = rows[:limit]
                next_key = (rows[-1]["created_at"], rows[-1]["id"])
            orders = await _load(conn, rows)
        return PageResult(items=orders, total=int(total_rows[0][0]), next_key=next_key)

    async def transition(
        self,
        order_id: str,
        *,
        expected: OrderStatus,
        new: OrderStatus,
        at: datetime,
        expected_payment: PaymentStatus | None = None,
        payment: PaymentStatus | None = None,
        events: Sequence[OutboxEvent] = (),
        applied_event: str | None = None,
    ) -> Order | None:
        conditions = "id = ? AND status = ?"
        params: builtins.list[Any] = [order_id, expected.value]
        if expected_payment is not None:
            conditions += " AND payment_status = ?"
            params.append(expected_payment.value)
        async with self._db.write() as conn:
            if applied_event is not None:
                cursor = await conn.execute(
                    "INSERT INTO payment_events (event_id, order_id, applied_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (event_id) DO NOTHING",
                    (applied_event, order_id, to_db_time(at)),
                )
                if cursor.rowcount != 1:
                    raise DuplicateKeyError("event")
            cursor = await conn.execute(
                "UPDATE orders SET status = ?, payment_status = coalesce(?, payment_status), "
                f"updated_at = ? WHERE {conditions}",
                (new.value, payment.value if payment else None, to_db_time(at), *params),
            )
            if cursor.rowcount != 1:
                await conn.execute(
                    "DELETE FROM payment_events WHERE event_id = ?", (applied_event,)
                )
                return None
            await conn.execute(
                "INSERT INTO order_status_history (order_id, position, status, at, "
                "payment_status) SELECT ?, coalesce(max(h.position), -1) + 1, ?, ?, "
                "(SELECT payment_status FROM orders WHERE id = ?) "
                "FROM order_status_history h WHERE h.order_id = ?",
                (order_id, new.value, to_db_time(at), order_id, order_id),
            )
            await insert_events(conn, events)
            rows = list(
                await conn.execute_fetchall(
                    f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = ?", (order_id,)
                )
            )
            orders = await _load(conn, rows)
        return orders[0]

    async def set_payment_intent(self, order_id: str, intent_id: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE orders SET payment_intent_id = ? WHERE id = ?", (intent_id, order_id)
            )

    async def payment_due(
        self,
        *,
        status: OrderStatus,
        payment: Sequence[PaymentStatus],
        created_before: datetime,
        limit: int,
        exclude_method: str | None = None,
    ) -> builtins.list[Order]:
        marks = _placeholders(len(payment))
        params: builtins.list[Any] = [
            status.value,
            *(p.value for p in payment),
            to_db_time(created_before),
        ]
        extra = ""
        if exclude_method is not None:
            extra = " AND payment_method <> ?"
            params.append(exclude_method)
        async with self._db.read() as conn:
            rows = list(
                await conn.execute_fetchall(
                    f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status = ? "
                    f"AND payment_status IN ({marks}) AND created_at < ?{extra} "
                    "ORDER BY created_at LIMIT ?",
                    [*params, limit],
                )
            )
            return await _load(conn, rows)

    async def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
        return await self._db.transact(lambda conn: hold_idempotency_key(conn, record))

    async def get_idempotency_key(self, user_id: str, key: str) -> IdempotencyRecord | None:
        row = await self._db.fetch_one(
            f"SELECT {_KEY_COLUMNS} FROM idempotency_keys WHERE user_id = ? AND key = ? "
            "AND created_at >= ?",
            (user_id, key, to_db_time(utc_now() - IDEMPOTENCY_KEY_TTL)),
        )
        return _record(row) if row else None

    async def renew_idempotency_key(self, record: IdempotencyRecord, claimed_at: datetime) -> bool:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE idempotency_keys SET claimed_at = ? "
                "WHERE user_id = ? AND key = ? AND order_id = ? AND claimed_at = ?",
                (
                    to_db_time(claimed_at),
                    record.user_id,
                    record.key,
                    record.order_id,
                    to_db_time(record.claimed_at),
                ),
            )
            return cursor.rowcount == 1

    async def release_idempotency_key(self, user_id: str, key: str, order_id: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND order_id = ?",
                (user_id, key, order_id),
            )

    async def sweep_idempotency_keys(self, before: datetime) -> int:
        async with self._db.write() as conn:  # indexed on created_at
            cursor = await conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?", (to_db_time(before),)
            )
            return int(cursor.rowcount)
