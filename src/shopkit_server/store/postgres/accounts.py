"""PostgreSQL storage for account tokens (password reset, email verification), address books
and guest carts' tokens (their lines are ordinary ``carts`` rows)."""

from __future__ import annotations

from datetime import datetime

from shopkit_server.auth.models import AccountToken, AddressLimitReached, SavedAddress, TokenPurpose
from shopkit_server.cart.models import GuestCart
from shopkit_server.orders.models import Address
from shopkit_server.store._rows import (
    ADDRESS_COLUMNS,
    ADDRESS_FIELDS,
    GUEST_COLUMNS,
    MERGED_KEPT,
    NATIVE,
    TOKEN_COLUMNS,
    guest_cart_of,
    saved_address_of,
    token_of,
)
from shopkit_server.store.postgres.db import Connection, Database, affected

# Migration 4 (with users.VERIFICATION): mailed tokens by hash, address books, guest carts.
SCHEMA: tuple[str, ...] = (
    """CREATE TABLE account_tokens (
        token_hash text COLLATE "C" PRIMARY KEY,
        user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        purpose text NOT NULL,
        email text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz
    )""",
    "CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose) WHERE used_at IS NULL",
    "CREATE INDEX account_tokens_expiry ON account_tokens (expires_at)",
    """CREATE TABLE addresses (
        id text COLLATE "C" PRIMARY KEY,
        user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        full_name text NOT NULL,
        address_line1 text NOT NULL,
        address_line2 text,
        city text NOT NULL,
        state text,
        postal_code text NOT NULL,
        country text NOT NULL,
        phone text NOT NULL,
        is_default boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    )""",
    "CREATE INDEX addresses_user ON addresses (user_id, created_at)",
    # At most one default per user, whatever a bug or a race might try.
    "CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default",
    """CREATE TABLE guest_carts (
        id text COLLATE "C" PRIMARY KEY,
        token_hash text COLLATE "C" NOT NULL UNIQUE,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        merged_at timestamptz,
        merged_into text COLLATE "C"
    )""",
    "CREATE INDEX guest_carts_expiry ON guest_carts (expires_at)",
)


class PostgresAccountTokenRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, token: AccountToken) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute("DELETE FROM account_tokens WHERE expires_at < $1", token.created_at)
            await conn.execute(
                f"INSERT INTO account_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)",
                token.token_hash,
                token.user_id,
                token.purpose.value,
                token.email,
                token.created_at,
                token.expires_at,
            )

        await self._db.transaction(work)

    async def consume(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> AccountToken | None:
        # One UPDATE: a concurrent one waits on the row lock and then finds used_at set.
        row = await self._db.fetchrow(
            "UPDATE account_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 "
            f"AND used_at IS NULL AND expires_at > $3 RETURNING {TOKEN_COLUMNS}",
            token_hash,
            purpose.value,
            now,
        )
        return token_of(row, NATIVE) if row else None

    async def revoke_all(self, user_id: str, purpose: TokenPurpose, now: datetime) -> None:
        await self._db.execute(
            "UPDATE account_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 "
            "AND used_at IS NULL",
            user_id,
            purpose.value,
            now,
        )


class PostgresAddressRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def list(self, user_id: str) -> list[SavedAddress]:
        rows = await self._db.fetch(
            f"SELECT {ADDRESS_COLUMNS} FROM addresses WHERE user_id = $1 ORDER BY created_at, id",
            user_id,
        )
        return [saved_address_of(row, NATIVE) for row in rows]

    async def get(self, user_id: str, address_id: str) -> SavedAddress | None:
        row = await self._db.fetchrow(
            f"SELECT {ADDRESS_COLUMNS} FROM addresses WHERE id = $1 AND user_id = $2",
            address_id,
            user_id,
        )
        return saved_address_of(row, NATIVE) if row else None

    async def add(self, entry: SavedAddress, *, limit: int) -> SavedAddress:
        async def work(conn: Connection) -> SavedAddress:
            # The user's row lock serialises adds to one book, so the count cannot go stale.
            await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", entry.user_id)
            count = await conn.fetchval(
                "SELECT count(*) FROM addresses WHERE user_id = $1", entry.user_id
            )
            if int(count) >= limit:
                raise AddressLimitReached()
            is_default = entry.is_default or int(count) == 0
            if is_default:
                await conn.execute(
                    "UPDATE addresses SET is_default = false WHERE user_id = $1 AND is_default",
                    entry.user_id,
                )
            row = await conn.fetchrow(
                f"INSERT INTO addresses ({ADDRESS_COLUMNS}) VALUES "
                f"($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
                f"RETURNING {ADDRESS_COLUMNS}",
                entry.id,
                entry.user_id,
                *(getattr(entry.address, name) for name in ADDRESS_FIELDS),
                is_default,
                entry.created_at,
                entry.updated_at,
            )
            assert row is not None
            return saved_address_of(row, NATIVE)

        return await self._db.transaction(work)

    async def update(
        self,
        user_id: str,
        address_id: str,
        address: Address,
        *,
        make_default: bool,
        now: datetime,
    ) -> SavedAddress | None:
        async def work(conn: Connection) -> SavedAddress | None:
            if make_default:
                await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)
                await conn.execute(
                    "UPDATE addresses SET is_default = false WHERE user_id = $1 AND id <> $2 "
                    "AND is_default AND EXISTS "
                    "(SELECT 1 FROM addresses WHERE id = $2 AND user_id = $1)",
                    user_id,
                    address_id,
                )
            assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(ADDRESS_FIELDS, 4))
            row = await conn.fetchrow(
                f"UPDATE addresses SET {assignments}, updated_at = $3"
                + (", is_default = true" if make_default else "")
                + f" WHERE id = $1 AND user_id = $2 RETURNING {ADDRESS_COLUMNS}",
                address_id,
                user_id,
                now,
                *(getattr(address, name) for name in ADDRESS_FIELDS),
            )
            return saved_address_of(row, NATIVE) if row else None

        return await self._db.transaction(work)

    async def delete(self, user_id: str, address_id: str) -> bool:
        status = await self._db.execute(
            "DELETE FROM addresses WHERE id = $1 AND user_id = $2", address_id, user_id
        )
        return affected(status) > 0


class PostgresGuestCartRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, guest: GuestCart) -> None:
        await self._db.execute(
            f"INSERT INTO guest_carts ({GUEST_COLUMNS}) VALUES ($1, $2, $3, $4)",
            guest.id,
            guest.token_hash,
            guest.created_at,
            guest.expires_at,
        )

    async def find(self, token_hash: str, now: datetime) -> GuestCart | None:
        row = await self._db.fetchrow(
            f"SELECT {GUEST_COLUMNS} FROM guest_carts WHERE token_hash = $1 "
            "AND merged_at IS NULL AND expires_at > $2",
            token_hash,
            now,
        )
        return guest_cart_of(row, NATIVE) if row else None

    async def claim(self, token_hash: str, user_id: str, now: datetime) -> GuestCart | None:
        row = await self._db.fetchrow(
            "UPDATE guest_carts SET merged_at = $3, merged_into = $2 WHERE token_hash = $1 "
            f"AND merged_at IS NULL AND expires_at > $3 RETURNING {GUEST_COLUMNS}",
            token_hash,
            user_id,
            now,
        )
        return guest_cart_of(row, NATIVE) if row else None

    async def sweep(self, now: datetime) -> int:
        where = "WHERE expires_at <= $1 OR merged_at <= $2"

        async def work(conn: Connection) -> int:
            # cart_items go with their carts row (ON DELETE CASCADE).
            await conn.execute(
                f"DELETE FROM carts WHERE user_id IN (SELECT id FROM guest_carts {where})",
                now,
                now - MERGED_KEPT,
            )
            status = await conn.execute(f"DELETE FROM guest_carts {where}", now, now - MERGED_KEPT)
            return affected(status)

        return await self._db.transaction(work)
