"""Databases from before payments upgrade in place: their orders read as manual and unpaid,
and take payments, events and webhooks afterwards."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from shopkit_server.orders.models import OrderStatus, PaymentStatus
from shopkit_server.settings import Settings
from shopkit_server.store import Store, open_store
from shopkit_server.store.postgres import schema as pg_schema
from shopkit_server.store.sqlite import schema as sqlite_schema
from shopkit_server.store.sqlite.db import to_db_time
from shopkit_server.webhooks import events
from tests.conftest import POSTGRES_UNREACHABLE, POSTGRES_URL, _postgres_db_url, _settings

ORDER_ID = "b" * 24
ADDRESS = {
    "full_name": "Old Customer",
    "address_line1": "1 Road",
    "address_line2": None,
    "city": "Lahore",
    "state": None,
    "postal_code": "54000",
    "country": "PK",
    "phone": "+92 300 1234567",
}


async def _check_upgraded(store: Store) -> None:
    order = await store.orders.get(ORDER_ID)
    assert order is not None
    assert (order.payment_method, order.payment_status, order.payment_intent_id) == (
        "manual",
        PaymentStatus.UNPAID,
        None,
    )
    assert [h.payment_status for h in order.status_history] == [PaymentStatus.UNPAID]
    moved = await store.orders.transition(
        ORDER_ID,
        expected=OrderStatus.PENDING,
        new=OrderStatus.PENDING,
        at=datetime.now(UTC),
        expected_payment=PaymentStatus.UNPAID,
        payment=PaymentStatus.PAID,
        events=[events.order_event("order.paid", order, datetime.now(UTC))],
    )
    assert moved is not None and moved.payment_status is PaymentStatus.PAID
    assert [e.type for e in await store.webhooks.events(f"order:{ORDER_ID}")] == ["order.paid"]


async def test_a_sqlite_file_from_before_payments_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    now = to_db_time(datetime.now(UTC))
    before = len(sqlite_schema.MIGRATIONS) - 1  # the version before payments
    with sqlite3.connect(path) as conn:
        conn.create_function(  # what the store registers for its search keys
            "shopkit_casefold", 1, lambda t: None if t is None else str(t).casefold()
        )
        for migration in sqlite_schema.MIGRATIONS[:before]:
            for statement in migration:
                conn.execute(statement)
        conn.execute(
            "INSERT INTO orders (id, user_id, status, subtotal_cents, shipping_cents, tax_cents, "
            "total_cents, shipping_address, created_at, updated_at) "
            "VALUES (?, 'u', 'pending', 1000, 0, 50, 1050, ?, ?, ?)",
            (ORDER_ID, json.dumps(ADDRESS), now, now),
        )
        conn.execute(
            "INSERT INTO order_status_history (order_id, position, status, at) "
            "VALUES (?, 0, 'pending', ?)",
            (ORDER_ID, now),
        )
        conn.execute(f"PRAGMA user_version = {before}")
    store = await open_store(
        Settings(_env_file=None, database_url=f"sqlite:///{path}")  # type: ignore[call-arg]
    )
    try:
        await _check_upgraded(store)
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == sqlite_schema.SCHEMA_VERSION


@pytest.fixture
async def fresh_database() -> AsyncIterator[str]:
    if POSTGRES_UNREACHABLE is not None:
        pytest.skip(f"real PostgreSQL not reachable ({POSTGRES_UNREACHABLE})")
    name = f"shopkit_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_URL)
    await admin.execute(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0")
    try:
        yield _postgres_db_url(name)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


async def test_a_postgres_database_from_before_payments_is_upgraded_in_place(
    fresh_database: str,
) -> None:
    before = len(pg_schema.MIGRATIONS) - 1
    conn = await asyncpg.connect(fresh_database)
    try:
        async with conn.transaction():
            for migration in pg_schema.MIGRATIONS[:before]:
                for step in migration:
                    if isinstance(step, str):
                        await conn.execute(step)
                    else:
                        await step(conn)  # type: ignore[arg-type]
            await conn.execute("CREATE TABLE shopkit_schema (version integer NOT NULL)")
            await conn.execute("INSERT INTO shopkit_schema (version) VALUES ($1)", before)
            now = datetime.now(UTC)
            await conn.execute(
                "INSERT INTO orders (id, user_id, status, subtotal, shipping_cost, tax, total, "
                "shipping_address, created_at, updated_at) "
                "VALUES ($1, 'u', 'pending', 10, 0, 0.5, 10.5, $2::jsonb, $3, $3)",
                ORDER_ID,
                json.dumps(ADDRESS),
                now,
            )
            await conn.execute(
                "INSERT INTO order_status_history (order_id, position, status, at) "
                "VALUES ($1, 0, 'pending', $2)",
                ORDER_ID,
                now,
            )
    finally:
        await conn.close()
    store = await open_store(_settings(fresh_database))
    try:
        await _check_upgraded(store)
    finally:
        await store.close()
