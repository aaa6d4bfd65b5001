"""SQLite storage for guest carts' tokens; their lines are ordinary ``carts`` rows."""

from __future__ import annotations

from datetime import datetime

from shopkit_server.cart.models import GuestCart
from shopkit_server.store._rows import GUEST_COLUMNS, MERGED_KEPT, guest_cart_of
from shopkit_server.store.sqlite.db import CODEC, Database, to_db_time

# Migration 6: guest carts (the token is stored as its SHA-256 hash only).
SCHEMA: tuple[str, ...] = (
    """CREATE TABLE guest_carts (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        merged_at TEXT,
        merged_into TEXT
    )""",
    "CREATE INDEX guest_carts_expiry ON guest_carts (expires_at)",
)


class SqliteGuestCartRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, guest: GuestCart) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                f"INSERT INTO guest_carts ({GUEST_COLUMNS}) VALUES (?, ?, ?, ?)",
                (
                    guest.id,
                    guest.token_hash,
                    to_db_time(guest.created_at),
                    to_db_time(guest.expires_at),
                ),
            )

    async def find(self, token_hash: str, now: datetime) -> GuestCart | None:
        row = await self._db.fetch_one(
            f"SELECT {GUEST_COLUMNS} FROM guest_carts WHERE token_hash = ? AND merged_at IS NULL "
            "AND expires_at > ?",
            (token_hash, to_db_time(now)),
        )
        return guest_cart_of(row, CODEC) if row else None

    async def claim(self, token_hash: str, user_id: str, now: datetime) -> GuestCart | None:
        async with self._db.write() as conn:
            rows = list(
                await conn.execute_fetchall(
                    "UPDATE guest_carts SET merged_at = ?, merged_into = ? WHERE token_hash = ? "
                    f"AND merged_at IS NULL AND expires_at > ? RETURNING {GUEST_COLUMNS}",
                    (to_db_time(now), user_id, token_hash, to_db_time(now)),
                )
            )
        return guest_cart_of(rows[0], CODEC) if rows else None

    async def sweep(self, now: datetime) -> int:
        where = "WHERE expires_at <= ? OR merged_at <= ?"
        params = (to_db_time(now), to_db_time(now - MERGED_KEPT))
        async with self._db.write() as conn:
            # cart_items go with their carts row (ON DELETE CASCADE).
            await conn.execute(
                f"DELETE FROM carts WHERE user_id IN (SELECT id FROM guest_carts {where})", params
            )
            cursor = await conn.execute(f"DELETE FROM guest_carts {where}", params)
            return cursor.rowcount
