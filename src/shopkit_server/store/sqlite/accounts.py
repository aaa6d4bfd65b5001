"""SQLite storage for account tokens (password reset, email verification) and address books."""

from __future__ import annotations

from datetime import datetime

from shopkit_server.auth.models import AccountToken, AddressLimitReached, SavedAddress, TokenPurpose
from shopkit_server.orders.models import Address
from shopkit_server.store._rows import (
    ADDRESS_COLUMNS,
    ADDRESS_FIELDS,
    TOKEN_COLUMNS,
    saved_address_of,
    token_of,
)
from shopkit_server.store.sqlite.db import CODEC, Database, to_db_time

# Migration 5 (with users.VERIFICATION): mailed tokens, by hash; the address book.
SCHEMA: tuple[str, ...] = (
    """CREATE TABLE account_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        purpose TEXT NOT NULL,
        email TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    )""",
    "CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose)",
    "CREATE INDEX account_tokens_expiry ON account_tokens (expires_at)",
    """CREATE TABLE addresses (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        full_name TEXT NOT NULL,
        address_line1 TEXT NOT NULL,
        address_line2 TEXT,
        city TEXT NOT NULL,
        state TEXT,
        postal_code TEXT NOT NULL,
        country TEXT NOT NULL,
        phone TEXT NOT NULL,
        is_default INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX addresses_user ON addresses (user_id, created_at)",
    # At most one default per user, whatever a bug or a race might try.
    "CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default = 1",
)


class SqliteAccountTokenRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, token: AccountToken) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "DELETE FROM account_tokens WHERE expires_at < ?", (to_db_time(token.created_at),)
            )
            await conn.execute(
                f"INSERT INTO account_tokens ({TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token.token_hash,
                    token.user_id,
                    token.purpose.value,
                    token.email,
                    to_db_time(token.created_at),
                    to_db_time(token.expires_at),
                ),
            )

    async def consume(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> AccountToken | None:
        # One UPDATE ... RETURNING in the single writer's transaction: exactly one caller
        # finds used_at still NULL.
        async with self._db.write() as conn:
            rows = list(
                await conn.execute_fetchall(
                    "UPDATE account_tokens SET used_at = ? WHERE token_hash = ? AND purpose = ? "
                    f"AND used_at IS NULL AND expires_at > ? RETURNING {TOKEN_COLUMNS}",
                    (to_db_time(now), token_hash, purpose.value, to_db_time(now)),
                )
            )
        return token_of(rows[0], CODEC) if rows else None

    async def revoke_all(self, user_id: str, purpose: TokenPurpose, now: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? "
                "AND used_at IS NULL",
                (to_db_time(now), user_id, purpose.value),
            )


class SqliteAddressRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def list(self, user_id: str) -> list[SavedAddress]:
        rows = await self._db.fetch_all(
            f"SELECT {ADDRESS_COLUMNS} FROM addresses WHERE user_id = ? ORDER BY created_at, id",
            (user_id,),
        )
        return [saved_address_of(row, CODEC) for row in rows]

    async def get(self, user_id: str, address_id: str) -> SavedAddress | None:
        row = await self._db.fetch_one(
            f"SELECT {ADDRESS_COLUMNS} FROM addresses WHERE id = ? AND user_id = ?",
            (address_id, user_id),
        )
        return saved_address_of(row, CODEC) if row else None

    async def add(self, entry: SavedAddress, *, limit: int) -> SavedAddress:
        async with self._db.write() as conn:
            counted = list(
                await conn.execute_fetchall(
                    "SELECT count(*) FROM addresses WHERE user_id = ?", (entry.user_id,)
                )
            )
            count = int(counted[0][0])
            if count >= limit:
                raise AddressLimitReached()
            is_default = entry.is_default or count == 0
            if is_default:
                await conn.execute(
                    "UPDATE addresses SET is_default = 0 WHERE user_id = ? AND is_default = 1",
                    (entry.user_id,),
                )
            fields = entry.address
            await conn.execute(
                f"INSERT INTO addresses ({ADDRESS_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.id,
                    entry.user_id,
                    *(getattr(fields, name) for name in ADDRESS_FIELDS),
                    int(is_default),
                    to_db_time(entry.created_at),
                    to_db_time(entry.updated_at),
                ),
            )
        return SavedAddress(
            id=entry.id,
            user_id=entry.user_id,
            address=entry.address,
            is_default=is_default,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
        )

    async def update(
        self,
        user_id: str,
        address_id: str,
        address: Address,
        *,
        make_default: bool,
        now: datetime,
    ) -> SavedAddress | None:
        async with self._db.write() as conn:
            found = list(
                await conn.execute_fetchall(
                    "SELECT 1 FROM addresses WHERE id = ? AND user_id = ?", (address_id, user_id)
                )
            )
            if not found:
                return None
            if make_default:
                await conn.execute(
                    "UPDATE addresses SET is_default = 0 WHERE user_id = ? AND id <> ? "
                    "AND is_default = 1",
                    (user_id, address_id),
                )
            assignments = ", ".join(f"{name} = ?" for name in ADDRESS_FIELDS)
            await conn.execute(
                f"UPDATE addresses SET {assignments}, updated_at = ?"
                + (", is_default = 1" if make_default else "")
                + " WHERE id = ? AND user_id = ?",
                (
                    *(getattr(address, name) for name in ADDRESS_FIELDS),
                    to_db_time(now),
                    address_id,
                    user_id,
                ),
            )
            rows = list(
                await conn.execute_fetchall(
                    f"SELECT {ADDRESS_COLUMNS} FROM addresses WHERE id = ?", (address_id,)
                )
            )
        return saved_address_of(rows[0], CODEC)

    async def delete(self, user_id: str, address_id: str) -> bool:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "DELETE FROM addresses WHERE id = ? AND user_id = ?", (address_id, user_id)
            )
            return cursor.rowcount > 0
