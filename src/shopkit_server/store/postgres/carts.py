"""PostgreSQL storage for carts: a ``carts`` row per user and a ``cart_items`` row per line.

Every write first upserts (or locks) the user's ``carts`` row, which serialises the writes of
one cart across every connection and process: the limit check and the increment of an add, or
the subtraction of a checkout, see the committed quantity and cannot lose a concurrent add.
Writes to different carts never wait for each other.

A checkout's claim on the cart is the row's ``checkout_id`` and ``checkout_at``; claiming,
finishing and releasing it are each one transaction on that locked row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shopkit_server.cart.models import (
    Cart,
    CartItem,
    CartLinesExceeded,
    LineLimitExceeded,
    MergedLine,
    MergePlanner,
)
from shopkit_server.products.models import StockLine
from shopkit_server.store.postgres.db import Connection, Database, affected

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE carts (
        user_id text COLLATE "C" PRIMARY KEY,
        updated_at timestamptz NOT NULL
    )""",
    # seq gives the order lines were first added in; an upsert keeps a line's seq.
    """CREATE TABLE cart_items (
        user_id text COLLATE "C" NOT NULL REFERENCES carts (user_id) ON DELETE CASCADE,
        product_id text COLLATE "C" NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        name text NOT NULL,
        price numeric(12, 2) NOT NULL CHECK (price >= 0),
        image_url text,
        quantity integer NOT NULL CHECK (quantity >= 1),
        PRIMARY KEY (user_id, product_id)
    )""",
    "CREATE INDEX cart_items_order ON cart_items (user_id, seq)",
)

# Migration 3: a cart line is one variant. Each existing line takes its product's default
# variant (the only one every product had then); the key becomes (user_id, variant_id).
VARIANT_LINES: tuple[str, ...] = (
    'ALTER TABLE cart_items ADD COLUMN variant_id text COLLATE "C"',
    "UPDATE cart_items i SET variant_id = COALESCE((SELECT v.id FROM product_variants v "
    "WHERE v.product_id = i.product_id ORDER BY v.seq LIMIT 1), i.product_id)",
    "ALTER TABLE cart_items ALTER COLUMN variant_id SET NOT NULL",
    "ALTER TABLE cart_items DROP CONSTRAINT cart_items_pkey",
    "ALTER TABLE cart_items ADD PRIMARY KEY (user_id, variant_id)",
)

# Migration 2: the checkout claim (see the module docstring).
CHECKOUT_CLAIM: tuple[str, ...] = (
    'ALTER TABLE carts ADD COLUMN checkout_id text COLLATE "C"',
    "ALTER TABLE carts ADD COLUMN checkout_at timestamptz",
)


async def _load(conn: Connection | Database, user_id: str) -> Cart:
    rows = await conn.fetch(
        "SELECT c.updated_at, i.product_id, i.name, i.price, i.image_url, i.quantity, "
        "i.variant_id "
        "FROM carts c LEFT JOIN cart_items i ON i.user_id = c.user_id "
        "WHERE c.user_id = $1 ORDER BY i.seq",
        user_id,
    )
    if not rows:
        return Cart()
    return Cart(
        items=[
            CartItem(
                product_id=row["product_id"],
                name=row["name"],
                price=row["price"],
                quantity=row["quantity"],
                image_url=row["image_url"],
                variant_id=row["variant_id"],
            )
            for row in rows
            if row["product_id"] is not None
        ],
        updated_at=rows[0]["updated_at"],
    )


async def _touch(conn: Connection, user_id: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO carts (user_id, updated_at) VALUES ($1, $2) "
        "ON CONFLICT (user_id) DO UPDATE SET updated_at = excluded.updated_at",
        user_id,
        now,
    )


async def _lock(conn: Connection, user_id: str) -> bool:
    """Lock the user's cart row; False when the user has no cart."""
    found = await conn.fetchval("SELECT 1 FROM carts WHERE user_id = $1 FOR UPDATE", user_id)
    return found is not None


# Units added to a line (created as needed); the name, price and image become the item's.
_LINE_UPSERT = (
    "INSERT INTO cart_items (user_id, product_id, name, price, image_url, quantity, "
    "variant_id) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (user_id, variant_id) DO UPDATE SET "
    "quantity = cart_items.quantity + excluded.quantity, name = excluded.name, "
    "price = excluded.price, image_url = excluded.image_url"
)


def _line_args(user_id: str, item: CartItem) -> tuple[object, ...]:
    return (
        user_id,
        item.product_id,
        item.name,
        item.price,
        item.image_url,
        item.quantity,
        item.variant_id or item.product_id,
    )


async def _drop_guest_lines(conn: Connection, guest_id: str) -> None:
    await conn.execute("DELETE FROM carts WHERE user_id = $1", guest_id)  # lines go with it


async def _merge_guest(
    conn: Connection, token_hash: str, user_id: str, plan: MergePlanner, now: datetime
) -> list[MergedLine] | None:
    # The guest cart's row (its claim, locked: a concurrent merge of the token waits, then
    # finds it merged), then the account's cart row (upserted: locked, as every add locks it).
    guest_id = await conn.fetchval(
        "UPDATE guest_carts SET merged_at = $3, merged_into = $2 WHERE token_hash = $1 "
        "AND merged_at IS NULL AND expires_at > $3 RETURNING id",
        token_hash,
        user_id,
        now,
    )
    if guest_id is None:
        return None
    await _touch(conn, user_id, now)
    planned = plan(await _load(conn, guest_id), await _load(conn, user_id))
    if planned.adds:
        await conn.executemany(_LINE_UPSERT, [_line_args(user_id, i) for i in planned.adds])
    else:  # the upsert above made (or touched) the row only to lock it
        await conn.execute(
            "DELETE FROM carts c WHERE user_id = $1 AND NOT EXISTS "
            "(SELECT 1 FROM cart_items i WHERE i.user_id = c.user_id)",
            user_id,
        )
    await _drop_guest_lines(conn, guest_id)
    return planned.lines


class PostgresCartRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: str) -> Cart:
        return await _load(self._db, user_id)

    async def add_item(
        self,
        user_id: str,
        item: CartItem,
        *,
        max_quantity: int,
        max_lines: int,
        now: datetime,
    ) -> Cart:
        async def run(conn: Connection) -> Cart:
            # The upsert locks the cart row (creating it if needed): a concurrent add of the
            # same user waits here, then reads the quantity this one committed.
            await _touch(conn, user_id, now)
            found = await conn.fetchval(
                "SELECT quantity FROM cart_items WHERE user_id = $1 AND variant_id = $2",
                user_id,
                item.variant_id or item.product_id,
            )
            current = int(found or 0)
            if current + item.quantity > max_quantity:
                raise LineLimitExceeded(current)
            if found is None:
                # A new line: counted under the same cart-row lock, so concurrent adds of new
                # products can never pass the cap together.
                lines = await conn.fetchval(
                    "SELECT count(*) FROM cart_items WHERE user_id = $1", user_id
                )
                if int(lines) >= max_lines:
                    raise CartLinesExceeded()
            await conn.execute(_LINE_UPSERT, *_line_args(user_id, item))
            return await _load(conn, user_id)

        # LineLimitExceeded or CartLinesExceeded rolls back the transaction: a refused add
        # writes nothing, not even a new empty cart.
        return await self._db.transaction(run)

    async def set_quantity(
        self, user_id: str, variant_id: str, quantity: int, *, now: datetime
    ) -> Cart | None:
        async def run(conn: Connection) -> Cart | None:
            if not await _lock(conn, user_id):
                return None
            if quantity == 0:
                status = await conn.execute(
                    "DELETE FROM cart_items WHERE user_id = $1 AND variant_id = $2",
                    user_id,
                    variant_id,
                )
            else:
                status = await conn.execute(
                    "UPDATE cart_items SET quantity = $3 WHERE user_id = $1 AND variant_id = $2",
                    user_id,
                    variant_id,
                    quantity,
                )
            if affected(status) == 0:
                return None
            await _touch(conn, user_id, now)
            return await _load(conn, user_id)

        return await self._db.transaction(run)

    async def remove_item(self, user_id: str, variant_id: str, *, now: datetime) -> Cart:
        async def run(conn: Connection) -> Cart:
            if not await _lock(conn, user_id):
                return Cart()
            status = await conn.execute(
                "DELETE FROM cart_items WHERE user_id = $1 AND variant_id = $2",
                user_id,
                variant_id,
            )
            if affected(status):
                await _touch(conn, user_id, now)
            return await _load(conn, user_id)

        return await self._db.transaction(run)

    async def clear(self, user_id: str) -> None:
        await self._db.execute("DELETE FROM carts WHERE user_id = $1", user_id)

    async def claim_checkout(
        self, user_id: str, checkout_id: str, *, now: datetime, stale_before: datetime
    ) -> Cart | None:
        async def run(conn: Connection) -> Cart | None:
            # A concurrent claim waits for this row lock, then re-checks the condition on the
            # committed row and finds it held: of racing claims exactly one wins.
            status = await conn.execute(
                "UPDATE carts SET checkout_id = $2, checkout_at = $3 WHERE user_id = $1 AND "
                "(checkout_id IS NULL OR checkout_id = $2 OR checkout_at < $4)",
                user_id,
                checkout_id,
                now,
                stale_before,
            )
            if not affected(status) and await _lock(conn, user_id):
                return None  # another live checkout holds it
            return await _load(conn, user_id)

        return await self._db.transaction(run)

    async def finish_checkout(
        self, user_id: str, checkout_id: str, lines: Sequence[StockLine], *, now: datetime
    ) -> None:
        async def run(conn: Connection) -> None:
            claimed = await conn.fetchval(
                "SELECT 1 FROM carts WHERE user_id = $1 AND checkout_id = $2 FOR UPDATE",
                user_id,
                checkout_id,
            )
            if claimed is None:
                return  # finished already (a retry), or the claim was lost: change nothing
            ids = [line.variant_id or line.product_id for line in lines]
            quantities = [line.quantity for line in lines]
            await conn.execute(
                "DELETE FROM cart_items i USING unnest($2::text[], $3::int[]) AS l (id, quantity) "
                "WHERE i.user_id = $1 AND i.variant_id = l.id AND i.quantity <= l.quantity",
                user_id,
                ids,
                quantities,
            )
            await conn.execute(
                "UPDATE cart_items i SET quantity = i.quantity - l.quantity "
                "FROM unnest($2::text[], $3::int[]) AS l (id, quantity) "
                "WHERE i.user_id = $1 AND i.variant_id = l.id",
                user_id,
                ids,
                quantities,
            )
            emptied = await conn.execute(
                "DELETE FROM carts WHERE user_id = $1 AND NOT EXISTS "
                "(SELECT 1 FROM cart_items WHERE user_id = $1)",
                user_id,
            )
            if not affected(emptied):
                await conn.execute(
                    "UPDATE carts SET updated_at = $2, checkout_id = NULL, checkout_at = NULL "
                    "WHERE user_id = $1",
                    user_id,
                    now,
                )

        await self._db.transaction(run)

    async def merge_guest(
        self, token_hash: str, user_id: str, plan: MergePlanner, *, now: datetime
    ) -> list[MergedLine] | None:
        # One transaction: the claim, the adds and the guest lines' delete commit together.
        async def run(conn: Connection) -> list[MergedLine] | None:
            return await _merge_guest(conn, token_hash, user_id, plan, now)

        return await self._db.transaction(run)

    async def release_checkout(self, user_id: str, checkout_id: str) -> None:
        await self._db.execute(
            "UPDATE carts SET checkout_id = NULL, checkout_at = NULL "
            "WHERE user_id = $1 AND checkout_id = $2",
            user_id,
            checkout_id,
        )
