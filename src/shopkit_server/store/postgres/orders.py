"""PostgreSQL storage for orders (money as ``numeric``) and checkout Idempotency-Keys."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import asyncpg

from shopkit_server.clock import utc_now
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
from shopkit_server.store.postgres.db import (
    Connection,
    Database,
    Record,
    affected,
    text_from_key,
    time_from_key,
)
from shopkit_server.store.postgres.outbox import insert_events

_STATUSES = ", ".join(f"'{status.value}'" for status in OrderStatus)
# Prices fit numeric(12,2) (money.MAX_AMOUNT); a line or an order of many of them may not.
_AMOUNT = "numeric(18, 2)"

SCHEMA: tuple[str, ...] = (
    f"""CREATE TABLE orders (
        id text COLLATE "C" PRIMARY KEY,
        user_id text COLLATE "C" NOT NULL,
        status text NOT NULL CHECK (status IN ({_STATUSES})),
        subtotal {_AMOUNT} NOT NULL CHECK (subtotal >= 0),
        shipping_cost {_AMOUNT} NOT NULL CHECK (shipping_cost >= 0),
        tax {_AMOUNT} NOT NULL CHECK (tax >= 0),
        total {_AMOUNT} NOT NULL CHECK (total >= 0),
        shipping_address jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    )""",
    "CREATE INDEX orders_user_created ON orders (user_id, created_at DESC, id DESC)",
    "CREATE INDEX orders_user_status_created ON orders (user_id, status, created_at DESC, id DESC)",
    "CREATE INDEX orders_status_created ON orders (status, created_at DESC, id DESC)",
    "CREATE INDEX orders_created ON orders (created_at DESC, id DESC)",
    f"""CREATE TABLE order_items (
        order_id text COLLATE "C" NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        position integer NOT NULL,
        product_id text COLLATE "C" NOT NULL,
        name text NOT NULL,
        price numeric(12, 2) NOT NULL CHECK (price >= 0),
        quantity integer NOT NULL CHECK (quantity >= 1),
        item_total {_AMOUNT} NOT NULL CHECK (item_total >= 0),
        PRIMARY KEY (order_id, position)
    )""",
    """CREATE TABLE order_status_history (
        order_id text COLLATE "C" NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        position integer NOT NULL,
        status text NOT NULL,
        at timestamptz NOT NULL,
        PRIMARY KEY (order_id, position)
    )""",
    """CREATE TABLE idempotency_keys (
        user_id text COLLATE "C" NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        order_id text COLLATE "C" NOT NULL,
        created_at timestamptz NOT NULL,
        claimed_at timestamptz NOT NULL,
        PRIMARY KEY (user_id, key)
    )""",
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
)

_PAYMENT_STATUSES = ", ".join(f"'{status.value}'" for status in PaymentStatus)

# Migration: how an order is paid, its payment status (in the history too), the provider's
# payment id; the sweeper's index.
PAYMENTS: tuple[str, ...] = (
    "ALTER TABLE orders ADD COLUMN payment_method text NOT NULL DEFAULT 'manual'",
    "ALTER TABLE orders ADD COLUMN payment_status text NOT NULL DEFAULT 'unpaid' "
    f"CHECK (payment_status IN ({_PAYMENT_STATUSES}))",
    "ALTER TABLE orders ADD COLUMN payment_intent_id text",
    "ALTER TABLE order_status_history ADD COLUMN payment_status text NOT NULL DEFAULT 'unpaid'",
    "CREATE INDEX orders_payment_due ON orders (status, payment_status, created_at)",
)

# Migration 3: an order item snapshots its variant (id, sku, option values, image). Items of
# orders placed before variants keep ``variant_id`` NULL.
VARIANT_ITEMS: tuple[str, ...] = (
    'ALTER TABLE order_items ADD COLUMN variant_id text COLLATE "C", '
    "ADD COLUMN sku text, ADD COLUMN option_values jsonb NOT NULL DEFAULT '{}', "
    "ADD COLUMN image_url text",
)

# An order's items as arrays (one per column, from ``$start``) for one INSERT ... SELECT.
ITEM_COLUMNS = (
    "order_id, position, product_id, name, price, quantity, item_total, variant_id, sku, "
    "option_values, image_url"
)
ITEM_VALUES = (
    "l.position - 1, l.product_id, l.name, l.price, l.quantity, l.item_total, l.variant_id, "
    "l.sku, l.option_values::jsonb, l.image_url"
)


def item_lines(start: int) -> str:
    n = [f"${start + k}" for k in range(9)]
    return (
        f"unnest({n[0]}::text[], {n[1]}::text[], {n[2]}::numeric[], {n[3]}::int[], "
        f"{n[4]}::numeric[], {n[5]}::text[], {n[6]}::text[], {n[7]}::text[], {n[8]}::text[]) "
        "WITH ORDINALITY AS l (product_id, name, price, quantity, item_total, variant_id, sku, "
        "option_values, image_url, position)"
    )


def item_arrays(order: Order) -> list[list[Any]]:
    items = order.items
    return [
        [item.product_id for item in items],
        [item.name for item in items],
        [item.price for item in items],
        [item.quantity for item in items],
        [item.item_total for item in items],
        [item.variant_id for item in items],
        [item.sku for item in items],
        [json.dumps(item.option_values) for item in items],
        [item.image_url for item in items],
    ]


_ORDER_COLUMNS = (
    "id, user_id, status, subtotal, shipping_cost, tax, total, shipping_address, "
    "created_at, updated_at, payment_method, payment_status, payment_intent_id"
)
_KEY_COLUMNS = "user_id, key, request_hash, order_id, created_at, claimed_at"


async def _load(conn: Connection | Database, rows: Sequence[Record]) -> list[Order]:
    """Turn order rows into orders with two more queries in all (never one per order)."""
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    items: dict[str, list[OrderItem]] = {order_id: [] for order_id in ids}
    for row in await conn.fetch(
        "SELECT order_id, product_id, name, price, quantity, item_total, variant_id, sku, "
        "option_values, image_url FROM order_items "
        "WHERE order_id = ANY($1::text[]) ORDER BY order_id, position",
        ids,
    ):
        items[row["order_id"]].append(
            OrderItem(
                product_id=row["product_id"],
                name=row["name"],
                price=row["price"],
                quantity=row["quantity"],
                item_total=row["item_total"],
                variant_id=row["variant_id"],
                sku=row["sku"],
                option_values=dict(row["option_values"]),
                image_url=row["image_url"],
            )
        )
    history: dict[str, list[StatusChange]] = {order_id: [] for order_id in ids}
    for row in await conn.fetch(
        "SELECT order_id, status, at, payment_status FROM order_status_history "
        "WHERE order_id = ANY($1::text[]) ORDER BY order_id, position",
        ids,
    ):
        history[row["order_id"]].append(
            StatusChange(
                OrderStatus(row["status"]), row["at"], PaymentStatus(row["payment_status"])
            )
        )
    return [
        Order(
            id=row["id"],
            user_id=row["user_id"],
            items=items[row["id"]],
            subtotal=row["subtotal"],
            shipping_cost=row["shipping_cost"],
            tax=row["tax"],
            total=row["total"],
            shipping_address=Address(**row["shipping_address"]),
            status=OrderStatus(row["status"]),
            status_history=history[row["id"]],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            payment_method=row["payment_method"],
            payment_status=PaymentStatus(row["payment_status"]),
            payment_intent_id=row["payment_intent_id"],
        )
        for row in rows
    ]


def _record(row: Record) -> IdempotencyRecord:
    return IdempotencyRecord(
        user_id=row["user_id"],
        key=row["key"],
        request_hash=row["request_hash"],
        order_id=row["order_id"],
        created_at=row["created_at"],
        claimed_at=row["claimed_at"],
    )


def _decode_order_key(after: Key) -> tuple[datetime, str]:
    """An order list's key read back: ``(created_at as ISO 8601 with its offset, id)``."""
    text, order_id = check_key(after, str, str)
    return time_from_key(str(text)), text_from_key(str(order_id))


# An order, its lines and its status history in one statement (the foreign keys are checked
# at its end); the checkout transaction (checkout.py) and insert_order both run it, with
# the arguments of order_args.
ORDER_INSERT = (
    f"WITH o AS (INSERT INTO orders ({_ORDER_COLUMNS}) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id), "
    f"i AS (INSERT INTO order_items ({ITEM_COLUMNS}) SELECT o.id, {ITEM_VALUES} "
    f"FROM o, {item_lines(14)}) "
    "INSERT INTO order_status_history (order_id, position, status, at, payment_status) "
    "SELECT o.id, h.position - 1, h.status, h.at, h.payment_status FROM o, "
    "unnest($23::text[], $24::timestamptz[], $25::text[]) "
    "WITH ORDINALITY AS h (status, at, payment_status, position)"
)


def order_args(order: Order) -> list[Any]:
    """The arguments of :data:`ORDER_INSERT` for one order."""
    history = order.status_history
    return [
        order.id,
        order.user_id,
        order.status.value,
        order.subtotal,
        order.shipping_cost,
        order.tax,
        order.total,
        asdict(order.shipping_address),
        order.created_at,
        order.updated_at,
        order.payment_method,
        order.payment_status.value,
        order.payment_intent_id,
        *item_arrays(order),
        [change.status.value for change in history],
        [change.at for change in history],
        [change.payment_status.value for change in history],
    ]


async def insert_order(conn: Connection, order: Order) -> None:
    """Insert a new order with its lines and history inside the caller's transaction."""
    await conn.execute(ORDER_INSERT, *order_args(order))


class PostgresOrderRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, order: Order, events: Sequence[OutboxEvent] = ()) -> None:
        async def run(conn: Connection) -> None:
            await insert_order(conn, order)
            await insert_events(conn, events)

        try:
            await self._db.transaction(run)
        except asyncpg.UniqueViolationError as exc:
            raise DuplicateKeyError("id") from exc

    async def get(self, order_id: str) -> Order | None:
        row = await self._db.fetchrow(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = $1", order_id
        )
        if row is None:
            return None
        return (await _load(self._db, [row]))[0]

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
            params.append(user_id)
            clauses.append(f"user_id = ${len(params)}")
        if status is not None:
            params.append(status.value)
            clauses.append(f"status = ${len(params)}")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        page_clauses, page_params = list(clauses), list(params)
        if after is not None:  # keyset: the (created_at DESC, id DESC) indexes serve the range
            page_params.extend(_decode_order_key(after))
            page_clauses.append(
                f"(created_at, id) < (${len(page_params) - 1}, ${len(page_params)})"
            )
        page_where = f"WHERE {' AND '.join(page_clauses)}" if page_clauses else ""
        n = len(page_params)

        async def run(conn: Connection) -> PageResult[Order]:
            # One row past the page says whether another follows.
            rows = await conn.fetch(
                f"SELECT (SELECT count(*) FROM orders {where}) AS full_count, {_ORDER_COLUMNS} "
                f"FROM orders {page_where} ORDER BY created_at DESC, id DESC "
                f"LIMIT ${n + 1} OFFSET ${n + 2}",
                *page_params,
                limit + 1,
                offset,
            )
            if rows:
                total = int(rows[0]["full_count"])
            else:
                total = int(await conn.fetchval(f"SELECT count(*) FROM orders {where}", *params))
            next_key: Key | None = None
            if len(rows) > limit:
                rows = rows[:limit]
                next_key = (rows[-1]["created_at"].isoformat(), rows[-1]["id"])
            return PageResult(items=await _load(conn, rows), total=total, next_key=next_key)

        # One snapshot: the total, the page, its lines and status histories all from one state.
        return await self._db.snapshot(run)

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
        class _Lost(Exception):
            pass

        async def run(conn: Connection) -> Order | None:
            if applied_event is not None:
                status = await conn.execute(
                    "INSERT INTO payment_events (event_id, order_id, applied_at) "
                    "VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING",
                    applied_event,
                    order_id,
                    at,
                )
                if affected(status) != 1:
                    raise DuplicateKeyError("event")
            # Compare-and-set: a concurrent move of the same order waits for this row lock,
            # then re-checks the status and finds it changed.
            row = await conn.fetchrow(
                "UPDATE orders SET status = $3, updated_at = $4, "
                "payment_status = coalesce($5, payment_status) "
                "WHERE id = $1 AND status = $2 AND ($6::text IS NULL OR payment_status = $6) "
                f"RETURNING {_ORDER_COLUMNS}",
                order_id,
                expected.value,
                new.value,
                at,
                payment.value if payment else None,
                expected_payment.value if expected_payment else None,
            )
            if row is None:
                raise _Lost()  # rolls back the recorded event id too
            await conn.execute(
                "INSERT INTO order_status_history (order_id, position, status, at, "
                "payment_status) SELECT $1, coalesce(max(position), -1) + 1, $2, $3, $4 "
                "FROM order_status_history WHERE order_id = $1",
                order_id,
                new.value,
                at,
                row["payment_status"],
            )
            await insert_events(conn, events)
            return (await _load(conn, [row]))[0]

        try:
            return await self._db.transaction(run)
        except _Lost:
            return None

    async def set_payment_intent(self, order_id: str, intent_id: str) -> None:
        await self._db.execute(
            "UPDATE orders SET payment_intent_id = $2 WHERE id = $1", order_id, intent_id
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
        async def run(conn: Connection) -> builtins.list[Order]:
            args: builtins.list[Any] = [status.value, [p.value for p in payment], created_before]
            extra = ""
            if exclude_method is not None:
                extra = " AND payment_method <> $5"
                args.append(exclude_method)
            rows = await conn.fetch(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status = $1 "
                f"AND payment_status = ANY($2::text[]) AND created_at < $3{extra} "
                "ORDER BY created_at LIMIT $4",
                *args[:3],
                limit,
                *args[3:],
            )
            return await _load(conn, rows)

        return await self._db.snapshot(run)

    async def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
        async def run(conn: Connection) -> IdempotencyRecord:
            cutoff = record.created_at - IDEMPOTENCY_KEY_TTL
            # ON CONFLICT waits for a concurrent claim of the same key to commit, so exactly
            # one claim inserts and every other one reads the winner's record. A record
            # released between the two statements frees the key: insert again.
            while True:
                row = await conn.fetchrow(
                    # An expired record of the key is replaced in place, so an old key is
                    # free again (``sweep_idempotency_keys`` deletes the others, periodically).
                    f"INSERT INTO idempotency_keys ({_KEY_COLUMNS}) "
                    "VALUES ($1, $2, $3, $4, $5, $6) "
                    "ON CONFLICT (user_id, key) DO UPDATE SET "
                    "request_hash = excluded.request_hash, order_id = excluded.order_id, "
                    "created_at = excluded.created_at, "
                    "claimed_at = excluded.claimed_at WHERE idempotency_keys.created_at < $7 "
                    f"RETURNING {_KEY_COLUMNS}",
                    record.user_id,
                    record.key,
                    record.request_hash,
                    record.order_id,
                    record.created_at,
                    record.claimed_at,
                    cutoff,
                )
                if row is None:
                    row = await conn.fetchrow(
                        f"SELECT {_KEY_COLUMNS} FROM idempotency_keys "
                        "WHERE user_id = $1 AND key = $2",
                        record.user_id,
                        record.key,
                    )
                if row is not None:
                    return _record(row)

        return await self._db.transaction(run)

    async def get_idempotency_key(self, user_id: str, key: str) -> IdempotencyRecord | None:
        row = await self._db.fetchrow(
            f"SELECT {_KEY_COLUMNS} FROM idempotency_keys WHERE user_id = $1 AND key = $2 "
            "AND created_at >= $3",
            user_id,
            key,
            utc_now() - IDEMPOTENCY_KEY_TTL,
        )
        return _record(row) if row else None

    async def renew_idempotency_key(self, record: IdempotencyRecord, claimed_at: datetime) -> bool:
        status = await self._db.execute(
            "UPDATE idempotency_keys SET claimed_at = $5 "
            "WHERE user_id = $1 AND key = $2 AND order_id = $3 AND claimed_at = $4",
            record.user_id,
            record.key,
            record.order_id,
            record.claimed_at,
            claimed_at,
        )
        return affected(status) == 1

    async def release_idempotency_key(self, user_id: str, key: str, order_id: str) -> None:
        await self._db.execute(
            "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND order_id = $3",
            user_id,
            key,
            order_id,
        )

    async def sweep_idempotency_keys(self, before: datetime) -> int:
        status = await self._db.execute(  # indexed on created_at
            "DELETE FROM idempotency_keys WHERE created_at < $1", before
        )
        return affected(status)
