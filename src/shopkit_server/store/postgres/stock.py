"""Stock reservations on PostgreSQL: one transaction per reserve or release.

A reservation id is claimed first (``INSERT ... ON CONFLICT DO NOTHING``: a concurrent call
with the same id waits for this one to commit or roll back, then sees its outcome), then the
products are locked in id order (no deadlock between two checkouts of the same products) and
every line is taken by one guarded ``UPDATE ... WHERE stock >= quantity``. If any line falls
short the whole transaction rolls back, the claim with it: all or nothing. The
``CHECK (stock >= 0)`` on the table is the last line of defence.

The semantics are the SQLite store's: a repeated reserve is ``ALREADY_HELD`` (or ``MISMATCH``
for other lines), a released id stays spent, and a release that arrives before its reserve
marks the id released so the late reserve takes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from shopkit_server.clock import utc_now
from shopkit_server.ids import is_valid_id
from shopkit_server.products.models import ReserveOutcome, ReserveStatus, StockLine
from shopkit_server.store.postgres.db import Connection, Database
from shopkit_server.store.postgres.outbox import insert_events
from shopkit_server.store.postgres.variants import REFRESH_STOCK
from shopkit_server.webhooks.events import out_of_stock

# A line names its variant, or (vid NULL: a line from before variants) the product's only one.
_WHICH = (
    "v.product_id = l.pid AND (v.id = l.vid OR (l.vid IS NULL AND NOT EXISTS ("
    "SELECT 1 FROM product_variants o WHERE o.product_id = l.pid AND o.id <> v.id)))"
)
_LINES = "unnest($1::text[], $2::int[], $3::text[]) AS l (pid, quantity, vid)"

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE stock_reservations (
        id text COLLATE "C" PRIMARY KEY,
        state text NOT NULL CHECK (state IN ('held', 'released')),
        lines jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        released_at timestamptz
    )""",
)


class _Short(Exception):
    """Raised inside the transaction to roll back every line already taken."""

    def __init__(self, product_ids: list[str]) -> None:
        self.product_ids = product_ids


def _encode(lines: Sequence[StockLine]) -> list[list[str | int]]:
    return [
        [line.product_id, line.quantity]
        if line.variant_id is None
        else [line.product_id, line.quantity, line.variant_id]
        for line in lines
    ]


async def reserve(db: Database, reservation_id: str, lines: Sequence[StockLine]) -> ReserveOutcome:
    async def run(conn: Connection) -> ReserveOutcome:
        now = utc_now()
        claimed = await conn.fetchval(
            "INSERT INTO stock_reservations (id, state, lines, created_at) "
            "VALUES ($1, 'held', $2, $3) ON CONFLICT (id) DO NOTHING RETURNING id",
            reservation_id,
            _encode(lines),
            now,
        )
        if claimed is None:
            row = await conn.fetchrow(
                "SELECT state, lines FROM stock_reservations WHERE id = $1", reservation_id
            )
            assert row is not None  # reservations are never deleted
            if row["state"] == "released":
                return ReserveOutcome(ReserveStatus.RELEASED)
            if row["lines"] != _encode(lines):
                return ReserveOutcome(ReserveStatus.MISMATCH)
            return ReserveOutcome(ReserveStatus.ALREADY_HELD)
        wanted = [line for line in lines if is_valid_id(line.product_id)]
        ids = [line.product_id for line in wanted]
        await conn.execute(
            "SELECT 1 FROM products WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", ids
        )
        taken = await conn.fetch(
            f"UPDATE product_variants v SET stock = v.stock - l.quantity FROM {_LINES}, "
            f"products p WHERE {_WHICH} AND p.id = l.pid AND p.is_active AND v.is_active "
            "AND v.stock >= l.quantity RETURNING l.pid, l.vid",
            ids,
            [line.quantity for line in wanted],
            [line.variant_id for line in wanted],
        )
        got = {(row[0], row[1]) for row in taken}
        short = list(
            dict.fromkeys(
                line.product_id for line in lines if (line.product_id, line.variant_id) not in got
            )
        )
        if short:  # every line was tried, so the error names every product that fell short
            raise _Short(short)
        refreshed = await conn.fetch(f"{REFRESH_STOCK} RETURNING p.id, p.name, p.stock", ids)
        # Stock this reservation took to zero: the event commits with it (the outbox).
        await insert_events(
            conn, [out_of_stock(row[0], row[1], now) for row in refreshed if row[2] == 0]
        )
        return ReserveOutcome(ReserveStatus.RESERVED)

    try:
        return await db.transaction(run)
    except _Short as short_error:
        return ReserveOutcome(ReserveStatus.INSUFFICIENT, short=short_error.product_ids)


async def release(db: Database, reservation_id: str) -> None:
    async def run(conn: Connection) -> None:
        now = utc_now()
        # Claim the id as released first: if a reserve of this id is in flight, this waits for
        # it, and the UPDATE below then sees what it committed.
        spent = await conn.fetchval(
            "INSERT INTO stock_reservations (id, state, lines, created_at, released_at) "
            "VALUES ($1, 'released', '[]', $2, $2) ON CONFLICT (id) DO NOTHING RETURNING id",
            reservation_id,
            now,
        )
        if spent is not None:
            return  # unknown until now: remembered as spent, so a late reserve takes nothing
        held = await conn.fetchval(
            "UPDATE stock_reservations SET state = 'released', released_at = $2 "
            "WHERE id = $1 AND state = 'held' RETURNING lines",
            reservation_id,
            now,
        )
        if held is None:
            return  # released before: give back nothing twice
        back = sorted(
            (str(pid), int(qty), str(rest[0]) if rest else None) for pid, qty, *rest in held
        )
        ids = [pid for pid, _, _ in back]
        await conn.execute(
            "SELECT 1 FROM products WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", ids
        )
        await conn.execute(
            f"UPDATE product_variants v SET stock = v.stock + l.quantity FROM {_LINES} "
            f"WHERE {_WHICH}",
            ids,
            [qty for _, qty, _ in back],
            [vid for _, _, vid in back],
        )
        await conn.execute(REFRESH_STOCK, ids)

    await db.transaction(run)
