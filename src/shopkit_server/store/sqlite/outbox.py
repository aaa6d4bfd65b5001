"""SQLite: the event outbox, webhook endpoints and their deliveries.

Events are inserted by the write transaction of the change they report (orders.py, stock);
the dispatcher fans each one out into a delivery per matching endpoint, then delivers them.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from shopkit_server.orders.models import OutboxEvent
from shopkit_server.pagination import PageResult
from shopkit_server.store._rows import (
    DELIVERY_COLUMNS,
    ENDPOINT_COLUMNS,
    EVENT_COLUMNS,
    claimed_delivery_of,
    delivery_of,
    endpoint_of,
    event_of,
)
from shopkit_server.store.sqlite.db import CODEC, Database, to_db_time
from shopkit_server.webhooks.models import (
    Delivery,
    DeliveryState,
    DueDelivery,
    Endpoint,
    delivery_id_for,
    matches,
)

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE outbox_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        key TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL,
        dispatched INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX outbox_events_waiting ON outbox_events (seq) WHERE dispatched = 0",
    """CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        event_types TEXT NOT NULL,
        active INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        event_seq INTEGER NOT NULL REFERENCES outbox_events (seq),
        key TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_attempt_at TEXT,
        response_status INTEGER,
        last_error TEXT,
        created_at TEXT NOT NULL,
        delivered_at TEXT
    )""",
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) "
    "WHERE state = 'pending'",
    "CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, key, event_seq) "
    "WHERE state = 'pending'",
    "CREATE INDEX webhook_deliveries_list ON webhook_deliveries (webhook_id, event_seq DESC)",
    """CREATE TABLE payment_events (
        event_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        applied_at TEXT NOT NULL
    ) WITHOUT ROWID""",
)


EVENT_INSERT = "INSERT INTO outbox_events (id, type, key, data, created_at) VALUES (?, ?, ?, ?, ?)"


def event_rows(events: Sequence[OutboxEvent]) -> list[tuple[str, str, str, str, str]]:
    """The ``outbox_events`` rows of events (for :data:`EVENT_INSERT`)."""
    return [(e.id, e.type, e.key, json.dumps(e.data), to_db_time(e.created_at)) for e in events]


async def insert_events(conn: aiosqlite.Connection, events: Sequence[OutboxEvent]) -> None:
    """Write events into the outbox inside the caller's transaction."""
    if events:
        await conn.executemany(EVENT_INSERT, event_rows(events))


def insert_events_now(conn: sqlite3.Connection, events: Sequence[OutboxEvent]) -> None:
    """:func:`insert_events` on the writer's thread (inside a ``Database.transact``)."""
    if events:
        conn.executemany(EVENT_INSERT, event_rows(events))


class SqliteWebhookRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, endpoint: Endpoint) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                f"INSERT INTO webhooks ({ENDPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    endpoint.id,
                    endpoint.url,
                    endpoint.secret,
                    json.dumps(list(endpoint.event_types)),
                    int(endpoint.active),
                    to_db_time(endpoint.created_at),
                    to_db_time(endpoint.updated_at),
                ),
            )

    async def get(self, endpoint_id: str) -> Endpoint | None:
        row = await self._db.fetch_one(
            f"SELECT {ENDPOINT_COLUMNS} FROM webhooks WHERE id = ?", (endpoint_id,)
        )
        return endpoint_of(row, CODEC) if row else None

    async def endpoints(self) -> list[Endpoint]:
        rows = await self._db.fetch_all(
            f"SELECT {ENDPOINT_COLUMNS} FROM webhooks ORDER BY created_at, id"
        )
        return [endpoint_of(row, CODEC) for row in rows]

    async def update(self, endpoint: Endpoint) -> bool:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE webhooks SET url = ?, event_types = ?, active = ?, updated_at = ? "
                "WHERE id = ?",
                (
                    endpoint.url,
                    json.dumps(list(endpoint.event_types)),
                    int(endpoint.active),
                    to_db_time(endpoint.updated_at),
                    endpoint.id,
                ),
            )
            return cursor.rowcount == 1

    async def delete(self, endpoint_id: str) -> bool:
        async with self._db.write() as conn:
            cursor = await conn.execute("DELETE FROM webhooks WHERE id = ?", (endpoint_id,))
            return cursor.rowcount == 1

    async def fan_out(self, now: datetime, limit: int) -> int:
        async with self._db.write() as conn:
            events = list(
                await conn.execute_fetchall(
                    "SELECT seq, id, type, key FROM outbox_events WHERE dispatched = 0 "
                    "ORDER BY seq LIMIT ?",
                    (limit,),
                )
            )
            if not events:
                return 0
            endpoints = [
                endpoint_of(row, CODEC)
                for row in await conn.execute_fetchall(
                    f"SELECT {ENDPOINT_COLUMNS} FROM webhooks WHERE active = 1"
                )
            ]
            rows = [
                (
                    delivery_id_for(event["id"], endpoint.id),
                    endpoint.id,
                    event["seq"],
                    event["key"],
                    to_db_time(now),
                    to_db_time(now),
                )
                for event in events
                for endpoint in endpoints
                if matches(endpoint, event["type"])
            ]
            await conn.executemany(
                "INSERT OR IGNORE INTO webhook_deliveries (id, webhook_id, event_seq, key, "
                "state, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                rows,
            )
            await conn.execute(
                "UPDATE outbox_events SET dispatched = 1 WHERE dispatched = 0 AND seq <= ?",
                (events[-1]["seq"],),
            )
        return len(events)

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> builtins.list[DueDelivery]:
        async with self._db.write() as conn:
            # Due, and first of its key at its endpoint: an order's next event waits for the
            # one before it to be delivered or given up.
            rows = list(
                await conn.execute_fetchall(
                    f"SELECT {DELIVERY_COLUMNS}, w.url, w.secret FROM webhook_deliveries d "
                    "JOIN outbox_events e ON e.seq = d.event_seq "
                    "JOIN webhooks w ON w.id = d.webhook_id "
                    "WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND w.active = 1 "
                    "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries b "
                    "WHERE b.webhook_id = d.webhook_id AND b.key = d.key "
                    "AND b.state = 'pending' AND b.event_seq < d.event_seq) "
                    "ORDER BY d.event_seq LIMIT ?",
                    (to_db_time(now), limit),
                )
            )
            await conn.executemany(
                "UPDATE webhook_deliveries SET next_attempt_at = ?, attempts = attempts + 1, "
                "last_attempt_at = ? WHERE id = ?",
                [(to_db_time(lease_until), to_db_time(now), row["id"]) for row in rows],
            )
        return [
            DueDelivery(
                delivery=claimed_delivery_of(row, CODEC), url=row["url"], secret=row["secret"]
            )
            for row in rows
        ]

    async def finish(
        self,
        delivery_id: str,
        *,
        state: DeliveryState,
        at: datetime,
        next_attempt_at: datetime,
        response_status: int | None,
        error: str | None,
    ) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE webhook_deliveries SET state = ?, next_attempt_at = ?, "
                "response_status = ?, last_error = ?, delivered_at = ? WHERE id = ?",
                (
                    state.value,
                    to_db_time(next_attempt_at),
                    response_status,
                    error,
                    to_db_time(at) if state is DeliveryState.DELIVERED else None,
                    delivery_id,
                ),
            )

    async def deliveries(self, webhook_id: str, *, offset: int, limit: int) -> PageResult[Delivery]:
        async with self._db.snapshot() as conn:
            total = list(
                await conn.execute_fetchall(
                    "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ?", (webhook_id,)
                )
            )
            rows = list(
                await conn.execute_fetchall(
                    f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d "
                    "JOIN outbox_events e ON e.seq = d.event_seq WHERE d.webhook_id = ? "
                    "ORDER BY d.event_seq DESC LIMIT ? OFFSET ?",
                    (webhook_id, limit, offset),
                )
            )
        return PageResult(items=[delivery_of(r, CODEC) for r in rows], total=int(total[0][0]))

    async def replay(self, webhook_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, "
                "delivered_at = NULL WHERE id = ? AND webhook_id = ?",
                (to_db_time(now), delivery_id, webhook_id),
            )
            if cursor.rowcount != 1:
                return None
            rows = list(
                await conn.execute_fetchall(
                    f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d "
                    "JOIN outbox_events e ON e.seq = d.event_seq WHERE d.id = ?",
                    (delivery_id,),
                )
            )
        return delivery_of(rows[0], CODEC)

    async def events(self, key: str | None = None, limit: int = 100) -> builtins.list[OutboxEvent]:
        where, params = ("WHERE key = ?", [key]) if key is not None else ("", [])
        rows = await self._db.fetch_all(
            f"SELECT {EVENT_COLUMNS} FROM outbox_events {where} ORDER BY seq LIMIT ?",
            [*params, limit],
        )
        return [event_of(r, CODEC) for r in rows]
