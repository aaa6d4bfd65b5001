"""PostgreSQL: the event outbox, webhook endpoints and their deliveries.

Events are inserted by the transaction of the change they report (orders.py, stock); the
dispatcher fans each one out into a delivery per matching endpoint, then delivers them.
Dispatchers of several replicas claim deliveries with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from shopkit_server.orders.models import OutboxEvent
from shopkit_server.pagination import PageResult
from shopkit_server.store._rows import (
    DELIVERY_COLUMNS,
    ENDPOINT_COLUMNS,
    EVENT_COLUMNS,
    NATIVE,
    claimed_delivery_of,
    delivery_of,
    endpoint_of,
    event_of,
)
from shopkit_server.store.postgres.db import Connection, Database, affected
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
        seq bigserial PRIMARY KEY,
        id text COLLATE "C" NOT NULL UNIQUE,
        type text NOT NULL,
        key text COLLATE "C" NOT NULL,
        data jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        dispatched boolean NOT NULL DEFAULT false
    )""",
    "CREATE INDEX outbox_events_waiting ON outbox_events (seq) WHERE NOT dispatched",
    """CREATE TABLE webhooks (
        id text COLLATE "C" PRIMARY KEY,
        url text NOT NULL,
        secret text NOT NULL,
        event_types jsonb NOT NULL,
        active boolean NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    )""",
    """CREATE TABLE webhook_deliveries (
        id text COLLATE "C" PRIMARY KEY,
        webhook_id text COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        event_seq bigint NOT NULL REFERENCES outbox_events (seq),
        key text COLLATE "C" NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        last_attempt_at timestamptz,
        response_status integer,
        last_error text,
        created_at timestamptz NOT NULL,
        delivered_at timestamptz
    )""",
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) "
    "WHERE state = 'pending'",
    "CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, key, event_seq) "
    "WHERE state = 'pending'",
    "CREATE INDEX webhook_deliveries_list ON webhook_deliveries (webhook_id, event_seq DESC)",
    """CREATE TABLE payment_events (
        event_id text COLLATE "C" PRIMARY KEY,
        order_id text COLLATE "C" NOT NULL,
        applied_at timestamptz NOT NULL
    )""",
)


async def insert_events(conn: Connection, events: Sequence[OutboxEvent]) -> None:
    """Write events into the outbox inside the caller's transaction."""
    if events:
        await conn.executemany(
            f"INSERT INTO outbox_events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5)",
            [(e.id, e.type, e.key, e.data, e.created_at) for e in events],
        )


class PostgresWebhookRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, endpoint: Endpoint) -> None:
        await self._db.execute(
            f"INSERT INTO webhooks ({ENDPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            endpoint.id,
            endpoint.url,
            endpoint.secret,
            list(endpoint.event_types),
            endpoint.active,
            endpoint.created_at,
            endpoint.updated_at,
        )

    async def get(self, endpoint_id: str) -> Endpoint | None:
        row = await self._db.fetchrow(
            f"SELECT {ENDPOINT_COLUMNS} FROM webhooks WHERE id = $1", endpoint_id
        )
        return endpoint_of(row, NATIVE) if row else None

    async def endpoints(self) -> list[Endpoint]:
        rows = await self._db.fetch(
            f"SELECT {ENDPOINT_COLUMNS} FROM webhooks ORDER BY created_at, id"
        )
        return [endpoint_of(row, NATIVE) for row in rows]

    async def update(self, endpoint: Endpoint) -> bool:
        status = await self._db.execute(
            "UPDATE webhooks SET url = $2, event_types = $3, active = $4, updated_at = $5 "
            "WHERE id = $1",
            endpoint.id,
            endpoint.url,
            list(endpoint.event_types),
            endpoint.active,
            endpoint.updated_at,
        )
        return affected(status) == 1

    async def delete(self, endpoint_id: str) -> bool:
        status = await self._db.execute("DELETE FROM webhooks WHERE id = $1", endpoint_id)
        return affected(status) == 1

    async def fan_out(self, now: datetime, limit: int) -> int:
        async def run(conn: Connection) -> int:
            events = await conn.fetch(
                "SELECT seq, id, type, key FROM outbox_events WHERE NOT dispatched "
                "ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                limit,
            )
            if not events:
                return 0
            endpoints = [
                endpoint_of(row, NATIVE)
                for row in await conn.fetch(f"SELECT {ENDPOINT_COLUMNS} FROM webhooks WHERE active")
            ]
            rows = [
                (delivery_id_for(e["id"], endpoint.id), endpoint.id, e["seq"], e["key"], now)
                for e in events
                for endpoint in endpoints
                if matches(endpoint, e["type"])
            ]
            if rows:
                await conn.executemany(
                    "INSERT INTO webhook_deliveries (id, webhook_id, event_seq, key, state, "
                    "next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5) "
                    "ON CONFLICT (id) DO NOTHING",
                    rows,
                )
            await conn.execute(
                "UPDATE outbox_events SET dispatched = true WHERE seq = ANY($1::bigint[])",
                [e["seq"] for e in events],
            )
            return len(events)

        return await self._db.transaction(run)

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> builtins.list[DueDelivery]:
        async def run(conn: Connection) -> builtins.list[DueDelivery]:
            # Due, and first of its key at its endpoint: an order's next event waits for the
            # one before it to be delivered or given up.
            rows = await conn.fetch(
                f"SELECT {DELIVERY_COLUMNS}, w.url, w.secret FROM webhook_deliveries d "
                "JOIN outbox_events e ON e.seq = d.event_seq "
                "JOIN webhooks w ON w.id = d.webhook_id "
                "WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND w.active "
                "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries b "
                "WHERE b.webhook_id = d.webhook_id AND b.key = d.key "
                "AND b.state = 'pending' AND b.event_seq < d.event_seq) "
                "ORDER BY d.event_seq LIMIT $2 FOR UPDATE OF d SKIP LOCKED",
                now,
                limit,
            )
            if rows:
                await conn.execute(
                    "UPDATE webhook_deliveries SET next_attempt_at = $1, "
                    "attempts = attempts + 1, last_attempt_at = $2 WHERE id = ANY($3::text[])",
                    lease_until,
                    now,
                    [row["id"] for row in rows],
                )
            return [
                DueDelivery(
                    delivery=claimed_delivery_of(row, NATIVE), url=row["url"], secret=row["secret"]
                )
                for row in rows
            ]

        return await self._db.transaction(run)

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
        await self._db.execute(
            "UPDATE webhook_deliveries SET state = $2, next_attempt_at = $3, "
            "response_status = $4, last_error = $5, delivered_at = $6 WHERE id = $1",
            delivery_id,
            state.value,
            next_attempt_at,
            response_status,
            error,
            at if state is DeliveryState.DELIVERED else None,
        )

    async def deliveries(self, webhook_id: str, *, offset: int, limit: int) -> PageResult[Delivery]:
        async def run(conn: Connection) -> PageResult[Delivery]:
            total = await conn.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1", webhook_id
            )
            rows = await conn.fetch(
                f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d "
                "JOIN outbox_events e ON e.seq = d.event_seq WHERE d.webhook_id = $1 "
                "ORDER BY d.event_seq DESC LIMIT $2 OFFSET $3",
                webhook_id,
                limit,
                offset,
            )
            return PageResult(items=[delivery_of(r, NATIVE) for r in rows], total=int(total))

        return await self._db.snapshot(run)

    async def replay(self, webhook_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        async def run(conn: Connection) -> Delivery | None:
            status = await conn.execute(
                "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $3, "
                "delivered_at = NULL WHERE id = $1 AND webhook_id = $2",
                delivery_id,
                webhook_id,
                now,
            )
            if affected(status) != 1:
                return None
            row = await conn.fetchrow(
                f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d "
                "JOIN outbox_events e ON e.seq = d.event_seq WHERE d.id = $1",
                delivery_id,
            )
            assert row is not None
            return delivery_of(row, NATIVE)

        return await self._db.transaction(run)

    async def events(self, key: str | None = None, limit: int = 100) -> builtins.list[OutboxEvent]:
        if key is None:
            rows = await self._db.fetch(
                f"SELECT {EVENT_COLUMNS} FROM outbox_events ORDER BY seq LIMIT $1",
                limit,
            )
        else:
            rows = await self._db.fetch(
                f"SELECT {EVENT_COLUMNS} FROM outbox_events WHERE key = $1 ORDER BY seq LIMIT $2",
                key,
                limit,
            )
        return [event_of(r, NATIVE) for r in rows]
