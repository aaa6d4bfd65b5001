"""The SQLite schema and its migrations.

Each domain module (users.py, products.py, carts.py, orders.py) owns the DDL of its tables as
a ``SCHEMA`` tuple; migration 1 creates them all. Later changes append a migration here, so an
existing database file is upgraded in place at start. ``PRAGMA user_version`` records where a
file stands.
"""

from __future__ import annotations

from collections.abc import Sequence

from shopkit_server.store.sqlite import (
    accounts,
    carts,
    guest_carts,
    listing_counts,
    orders,
    outbox,
    products,
    users,
    variants,
)
from shopkit_server.store.sqlite.db import Database

MIGRATIONS: tuple[Sequence[str], ...] = (
    (*users.SCHEMA, *products.SCHEMA, *carts.SCHEMA, *orders.SCHEMA),
    users.FAMILIES,
    # 3: a checkout's claim on the cart; users searchable without regard to case in any script.
    (*carts.CHECKOUT_CLAIM, *users.SEARCH_KEY),
    # 4: product variants, options and image galleries (each product gets its default
    # variant); cart lines and order items name their variant.
    (*variants.MIGRATION, *carts.VARIANT_LINES, *orders.VARIANT_ITEMS),
    # 5 (accounts): email verification, token versions, mailed tokens, address books.
    (*users.VERIFICATION, *accounts.SCHEMA),
    # 6 (accounts): guest carts.
    guest_carts.SCHEMA,
    # 7: payments (method, status, provider id, applied provider events); the event outbox,
    # webhook endpoints and their deliveries.
    (*orders.PAYMENTS, *outbox.SCHEMA),
    # 8: the count revision, bumped by triggers on every write that can move a listing's
    # count, so the totals of pages are kept exact without counting every time.
    listing_counts.MIGRATION,
)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(Exception):
    pass


async def migrate(db: Database) -> None:
    async with db.write() as conn:
        rows = list(await conn.execute_fetchall("PRAGMA user_version"))
        current = int(rows[0][0])
        if current > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the database file has schema version {current}; this shopkit knows up to "
                f"{SCHEMA_VERSION}. Upgrade shopkit."
            )
        for version in range(current, SCHEMA_VERSION):
            for statement in MIGRATIONS[version]:
                await conn.execute(statement)
        # PRAGMA takes no parameters; SCHEMA_VERSION is our own int.
        await conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
