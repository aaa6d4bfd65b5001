"""The PostgreSQL schema and its migrations.

Each domain module (users.py, products.py, carts.py, orders.py) owns the DDL of its tables as
a ``SCHEMA`` tuple; migration 1 creates them all. Later changes append a migration here, so an
existing database is upgraded in place at start. A migration step is a SQL statement, or a
function run on the migrating connection when the new data must be computed in Python (the
case-folded search keys). The ``shopkit_schema`` table records where a
database stands, as SQLite's ``PRAGMA user_version`` does for a file.

DDL is transactional in PostgreSQL: each migration and the new version commit together or not
at all. Several processes starting at once (replicas, a rolling deploy) take a transaction-level
advisory lock first, so exactly one of them migrates and the others then find the work done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from shopkit_server.store.postgres import (
    accounts,
    carts,
    orders,
    outbox,
    products,
    users,
    variants,
)
from shopkit_server.store.postgres.db import Connection, Database, Record

Step = str | Callable[[Connection], Awaitable[None]]

MIGRATIONS: tuple[Sequence[Step], ...] = (
    (*users.SCHEMA, *products.SCHEMA, *carts.SCHEMA, *orders.SCHEMA),
    # 2: refresh-token families; a checkout's claim on the cart; users searchable without
    # regard to case in any script.
    (*users.FAMILIES, *carts.CHECKOUT_CLAIM, *users.SEARCH_KEY),
    # 3: product variants, options and image galleries (each product gets its default
    # variant); cart lines and order items name their variant.
    (*variants.MIGRATION, *carts.VARIANT_LINES, *orders.VARIANT_ITEMS),
    # 4 (accounts): email verification, token versions, mailed tokens, address books, guest
    # carts.
    (*users.VERIFICATION, *accounts.SCHEMA),
    # 5: payments (method, status, provider id, applied provider events); the event outbox,
    # webhook endpoints and their deliveries.
    (*orders.PAYMENTS, *outbox.SCHEMA),
)
SCHEMA_VERSION = len(MIGRATIONS)

# pg_advisory_xact_lock key: "shopkit" in ASCII, so it is unlikely to collide with another app's.
_MIGRATION_LOCK = 0x73686F706B6974


class SchemaTooNew(Exception):
    pass


class UnsupportedDatabase(Exception):
    pass


async def migrate(db: Database) -> None:
    async def run(conn: Connection) -> None:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        encoding = await conn.fetchval("SHOW server_encoding")
        if encoding != "UTF8":
            raise UnsupportedDatabase(
                f"the database encoding is {encoding}; shopkit needs a UTF8 database "
                "(CREATE DATABASE ... ENCODING 'UTF8')"
            )
        await conn.execute("CREATE TABLE IF NOT EXISTS shopkit_schema (version integer NOT NULL)")
        current = await conn.fetchval("SELECT max(version) FROM shopkit_schema") or 0
        if current > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the database has schema version {current}; this shopkit knows up to "
                f"{SCHEMA_VERSION}. Upgrade shopkit."
            )
        if current == SCHEMA_VERSION:
            return
        for version in range(current, SCHEMA_VERSION):
            for step in MIGRATIONS[version]:
                if isinstance(step, str):
                    await conn.execute(step)
                else:
                    await step(conn)
        await conn.execute("DELETE FROM shopkit_schema")
        await conn.execute("INSERT INTO shopkit_schema (version) VALUES ($1)", SCHEMA_VERSION)

    await db.transaction(run)


async def tables(conn: Connection | asyncpg.Connection[Record]) -> list[str]:
    """Every table the migrations created (for tests that empty the database between runs)."""
    rows = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename <> 'shopkit_schema' ORDER BY tablename"
    )
    return [row[0] for row in rows]
