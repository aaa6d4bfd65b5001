"""SQLite storage for orders (money as integer cents) and checkout Idempotency-Keys."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

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
    StatusChange,
)
from shopkit_server.pagination import Key, PageResult, check_key
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.sqlite.db import Database, Row, from_db_time, to_db_time

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

_ORDER_COLUMNS = (
    "id, user_id, status, subtotal_cents, shipping_cents, tax_cents, total_cents, "
    "shipping_address, created_at, updated_at"
)
_KEY_COLUMNS = "user_id, key, request_hash, order_id, created_at, claimed_at"


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
        "SELECT order_id, product_id, name, price_cents, quantity, item_total_cents "
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
            )
        )
    history: dict[str, list[StatusChange]] = {order_id: [] for order_id in ids}
    for row in await conn.execute_fetchall(
        f"SELECT order_id, status, at FROM order_status_history WHERE order_id IN ({marks}) "
        "ORDER BY order_id, position",
        ids,
    ):
        history[row["order_id"]].append(
            StatusChange(OrderStatus(row["status"]), from_db_time(row["at"]))
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


class SqliteOrderRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, order: Order) -> None:
        try:
            async with self._db.write() as conn:
                await conn.execute(
                    f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES ({_placeholders(10)})",
                    (
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
                    ),
                )
                await conn.executemany(
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
                await conn.executemany(
                    "INSERT INTO order_status_history (order_id, position, status, at) "
                    "VALUES (?, ?, ?, ?)",
                    [
                        (order.id, position, change.status.value, to_db_time(change.at))
                        for position, change in enumerate(order.status_history)
                    ],
                )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc):
                raise
            raise DuplicateKeyError("id") from exc

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
        clauses: list[str] = []
        params: list[object] = []
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
        self, order_id: str, *, expected: OrderStatus, new: OrderStatus, at: datetime
    ) -> Order | None:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                (new.value, to_db_time(at), order_id, expected.value),
            )
            if cursor.rowcount != 1:
                return None
            await conn.execute(
                "INSERT INTO order_status_history (order_id, position, status, at) "
                "SELECT ?, coalesce(max(position), -1) + 1, ?, ? "
                "FROM order_status_history WHERE order_id = ?",
                (order_id, new.value, to_db_time(at), order_id),
            )
            rows = list(
                await conn.execute_fetchall(
                    f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = ?", (order_id,)
                )
            )
            orders = await _load(conn, rows)
        return orders[0]

    async def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
        async with self._db.write() as conn:
            # An expired record of the key is replaced in place, so an old key is free again
            # (the periodic sweep, ``sweep_idempotency_keys``, deletes the others).
            await conn.execute(
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
            )
            rows = list(
                await conn.execute_fetchall(
                    f"SELECT {_KEY_COLUMNS} FROM idempotency_keys WHERE user_id = ? AND key = ?",
                    (record.user_id, record.key),
                )
            )
        return _record(rows[0])

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
