"""Stock reservations on SQLite: one write transaction per reserve or release.

Writes are serialised (one writer connection behind a lock, ``BEGIN IMMEDIATE`` against other
processes), so the conditional ``stock = stock - q WHERE stock >= q`` of every line and the
reservation row commit together or not at all. The ``CHECK (stock >= 0)`` on the table is the
last line of defence.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from shopkit_server.clock import utc_now
from shopkit_server.ids import is_valid_id
from shopkit_server.orders.models import OutboxEvent
from shopkit_server.products.models import ReserveOutcome, ReserveStatus, StockLine
from shopkit_server.store.sqlite.db import Database
from shopkit_server.store.sqlite.outbox import insert_events_now
from shopkit_server.store.sqlite.variants import REFRESH_STOCK
from shopkit_server.webhooks.events import out_of_stock

# A line names its variant, or (variant_id NULL: a line from before variants) the product's
# only variant. Both statements take (quantity, product_id, variant_id, variant_id, ...).
_WHICH = (
    "product_id = ? AND (id = ? OR (? IS NULL AND "
    "(SELECT COUNT(*) FROM product_variants w WHERE w.product_id = product_variants.product_id)"
    " = 1))"
)
_TAKE = (
    f"UPDATE product_variants SET stock = stock - ? WHERE {_WHICH} AND is_active = 1 "
    "AND stock >= ? AND EXISTS (SELECT 1 FROM products p WHERE p.id = product_variants.product_id "
    "AND p.is_active = 1)"
)
_GIVE_BACK = f"UPDATE product_variants SET stock = stock + ? WHERE {_WHICH}"

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE stock_reservations (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('held', 'released')),
        lines TEXT NOT NULL,
        created_at TEXT NOT NULL,
        released_at TEXT
    )""",
)


class _Short(Exception):
    """Raised inside the transaction to roll back every line already taken."""

    def __init__(self, product_ids: list[str]) -> None:
        self.product_ids = product_ids


def _encode(lines: Sequence[StockLine]) -> str:
    return json.dumps(
        [
            [line.product_id, line.quantity]
            if line.variant_id is None
            else [line.product_id, line.quantity, line.variant_id]
            for line in lines
        ]
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _reserve(
    conn: sqlite3.Connection, reservation_id: str, lines: Sequence[StockLine], now: str
) -> ReserveOutcome:
    row = conn.execute(
        "SELECT state, lines FROM stock_reservations WHERE id = ?", (reservation_id,)
    ).fetchone()
    if row is not None:
        state, held = row
        if state == "released":
            return ReserveOutcome(ReserveStatus.RELEASED)
        if held != _encode(lines):
            return ReserveOutcome(ReserveStatus.MISMATCH)
        return ReserveOutcome(ReserveStatus.ALREADY_HELD)
    short: list[str] = []
    emptied: list[OutboxEvent] = []
    for line in lines:
        if not is_valid_id(line.product_id):
            short.append(line.product_id)
            continue
        vid = line.variant_id
        took = (
            conn.execute(_TAKE, (line.quantity, line.product_id, vid, vid, line.quantity)).rowcount
            == 1
        )
        if not took:
            short.append(line.product_id)
        refreshed = conn.execute(
            f"{REFRESH_STOCK} RETURNING name, stock", (line.product_id,)
        ).fetchone()
        # This line took units (writes are serialised): at zero now, it reached zero.
        if took and refreshed is not None and refreshed[1] == 0:
            emptied.append(out_of_stock(line.product_id, refreshed[0], utc_now()))
    if short:  # every line was tried, so the error names every product that fell short
        raise _Short(list(dict.fromkeys(short)))
    conn.execute(
        "INSERT INTO stock_reservations (id, state, lines, created_at) VALUES (?, 'held', ?, ?)",
        (reservation_id, _encode(lines), now),
    )
    # Stock this reservation took to zero: the event commits with it (the outbox).
    insert_events_now(conn, emptied)
    return ReserveOutcome(ReserveStatus.RESERVED)


async def reserve(db: Database, reservation_id: str, lines: Sequence[StockLine]) -> ReserveOutcome:
    now = _now()
    try:
        # One hop to the writer's thread; a line that falls short rolls every line back.
        return await db.transact(lambda conn: _reserve(conn, reservation_id, lines, now))
    except _Short as short_error:
        return ReserveOutcome(ReserveStatus.INSUFFICIENT, short=short_error.product_ids)


async def release(db: Database, reservation_id: str) -> None:
    now = _now()
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE stock_reservations SET state = 'released', released_at = ? "
            "WHERE id = ? AND state = 'held' RETURNING lines",
            (now, reservation_id),
        )
        row = await cursor.fetchone()
        await cursor.close()
        if row is None:
            # Unknown (or already released): remember the id as spent, so a reserve that
            # arrives after its own clean-up (a retried call) cannot take stock.
            await conn.execute(
                "INSERT OR IGNORE INTO stock_reservations (id, state, lines, created_at, "
                "released_at) VALUES (?, 'released', '[]', ?, ?)",
                (reservation_id, now, now),
            )
            return
        for product_id, quantity, *variant in json.loads(row[0]):
            vid = variant[0] if variant else None
            await conn.execute(_GIVE_BACK, (quantity, product_id, vid, vid))
            await conn.execute(REFRESH_STOCK, (product_id,))
