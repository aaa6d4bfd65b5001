"""PostgreSQL storage for users and refresh tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from shopkit_server.auth.models import User, UserChanges
from shopkit_server.auth.repository import RefreshOutcome
from shopkit_server.clock import utc_now
from shopkit_server.pagination import PageResult
from shopkit_server.security import Role
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.postgres.db import Connection, Database, Record

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE users (
        id text COLLATE "C" PRIMARY KEY,
        email text NOT NULL,
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('customer', 'admin')),
        is_active boolean NOT NULL DEFAULT true,
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL,
        last_login timestamptz
    )""",
    # Emails are stored lower-cased; the index on lower() refuses a mixed-case twin anyway.
    "CREATE UNIQUE INDEX users_email ON users (lower(email))",
    "CREATE INDEX users_created ON users (created_at DESC, id DESC)",
    """CREATE TABLE refresh_tokens (
        jti text COLLATE "C" PRIMARY KEY,
        user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz
    )""",
    "CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id) WHERE revoked_at IS NULL",
    "CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at)",
)

# Migration 2: refresh-token families (reuse of a spent token revokes its login's chain). A
# token issued before it is a family of its own.
FAMILIES: tuple[str, ...] = (
    'ALTER TABLE refresh_tokens ADD COLUMN family text COLLATE "C"',
    "UPDATE refresh_tokens SET family = jti",
    "ALTER TABLE refresh_tokens ALTER COLUMN family SET NOT NULL",
    "CREATE INDEX refresh_tokens_family ON refresh_tokens (family)",
)


async def _fold_existing_users(conn: Connection) -> None:
    rows = await conn.fetch("SELECT id, email, name FROM users")
    if rows:
        await conn.executemany(
            "UPDATE users SET email_folded = $2, name_folded = $3 WHERE id = $1",
            [(row["id"], row["email"].casefold(), row["name"].casefold()) for row in rows],
        )


# Migration 2 too: case-folded copies of the searchable fields, written from Python's
# str.casefold on every insert and rename, so the search folds every script ("ÉLODIE" ->
# "élodie", "Straße" -> "strasse") exactly as the SQLite store does, whatever the server's
# locale or collation provider (lower() folds only ASCII under the C locale, and never ß).
SEARCH_KEY: tuple[str | Callable[[Connection], Awaitable[None]], ...] = (
    "ALTER TABLE users ADD COLUMN email_folded text NOT NULL DEFAULT ''",
    "ALTER TABLE users ADD COLUMN name_folded text NOT NULL DEFAULT ''",
    _fold_existing_users,
)

# Migration 4: email verification and the token version a password reset bumps. Accounts
# that existed before are unverified (nothing ever proved their address).
VERIFICATION: tuple[str, ...] = (
    "ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false",
    "ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0",
)

_COLUMNS = (
    "id, email, name, role, is_active, password_hash, created_at, last_login, "
    "email_verified, token_version"
)


def _user(row: Record) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=Role(row["role"]),
        is_active=row["is_active"],
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        last_login=row["last_login"],
        email_verified=row["email_verified"],
        token_version=row["token_version"],
    )


def _like(text: str) -> str:
    escaped = text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class PostgresUserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, user: User) -> None:
        try:
            await self._db.execute(
                f"INSERT INTO users ({_COLUMNS}, email_folded, name_folded) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                user.id,
                user.email,
                user.name,
                user.role.value,
                user.is_active,
                user.password_hash,
                user.created_at,
                user.last_login,
                user.email_verified,
                user.token_version,
                user.email.casefold(),
                user.name.casefold(),
            )
        except asyncpg.UniqueViolationError as exc:
            raise DuplicateKeyError("email") from exc

    async def get(self, user_id: str) -> User | None:
        row = await self._db.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE id = $1", user_id)
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM users WHERE lower(email) = lower($1)", email
        )
        return _user(row) if row else None

    async def update(self, user_id: str, changes: UserChanges) -> User | None:
        values: dict[str, Any] = {
            "name": changes.name,
            "email": changes.email,
            "role": changes.role.value if changes.role else None,
            "is_active": changes.is_active,
            "password_hash": changes.password_hash,
            "last_login": changes.last_login,
            "email_verified": changes.email_verified,
        }
        sets = {column: value for column, value in values.items() if value is not None}
        if changes.name is not None:
            sets["name_folded"] = changes.name.casefold()
        if changes.email is not None:
            sets["email_folded"] = changes.email.casefold()
        try:
            if not sets and not changes.bump_token_version:
                return await self.get(user_id)
            # Only the fixed names above ever become column names.
            assignments = ", ".join(
                [f"{column} = ${n}" for n, column in enumerate(sets, 2)]
                + (["token_version = token_version + 1"] if changes.bump_token_version else [])
            )
            row = await self._db.fetchrow(
                f"UPDATE users SET {assignments} WHERE id = $1 RETURNING {_COLUMNS}",
                user_id,
                *sets.values(),
            )
        except asyncpg.UniqueViolationError as exc:
            raise DuplicateKeyError("email") from exc
        return _user(row) if row else None

    async def list(self, *, query: str | None, offset: int, limit: int) -> PageResult[User]:
        where = ""
        params: tuple[str, ...] = ()
        if query:
            where = "WHERE email_folded LIKE $1 ESCAPE '\\' OR name_folded LIKE $1 ESCAPE '\\'"
            params = (_like(query),)
        n = len(params)
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS}, count(*) OVER () AS total FROM users {where} "
            f"ORDER BY created_at DESC, id DESC LIMIT ${n + 1} OFFSET ${n + 2}",
            *params,
            limit,
            offset,
        )
        if rows:
            return PageResult(items=[_user(r) for r in rows], total=int(rows[0]["total"]))
        total = await self._db.fetchval(f"SELECT count(*) FROM users {where}", *params)
        return PageResult(items=[], total=int(total or 0))


# pg_advisory_xact_lock's first key for refresh-token families ("rt" in ASCII).
_FAMILY_LOCK = 0x7274


class PostgresRefreshTokenRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, jti: str, user_id: str, expires_at: datetime, *, family: str | None = None
    ) -> None:
        async def run(conn: Connection) -> None:
            # Expired rows are useless; pruning a few here keeps the table small. SKIP LOCKED:
            # concurrent logins never wait on each other's pruning.
            await conn.execute(
                "DELETE FROM refresh_tokens WHERE jti IN (SELECT jti FROM refresh_tokens "
                "WHERE expires_at < $1 LIMIT 100 FOR UPDATE SKIP LOCKED)",
                utc_now(),
            )
            await conn.execute(
                "INSERT INTO refresh_tokens (jti, user_id, expires_at, family) "
                "VALUES ($1, $2, $3, $4)",
                jti,
                user_id,
                expires_at,
                family or jti,
            )

        await self._db.transaction(run)

    async def rotate(
        self, jti: str, user_id: str, now: datetime, successor: str, successor_expires_at: datetime
    ) -> RefreshOutcome:
        async def run(conn: Connection) -> RefreshOutcome:
            family = await conn.fetchval(
                "SELECT family FROM refresh_tokens WHERE jti = $1 AND user_id = $2", jti, user_id
            )
            if family is None:
                return RefreshOutcome.INVALID
            # Every rotation and reuse in one family runs one at a time (a lock on the family,
            # released at commit): a reuse revoking the family then sees the successor a
            # concurrent rotation stored, whichever of the two came first, as on SQLite's
            # single writer. Each statement below reads what committed before it.
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", _FAMILY_LOCK, family
            )
            row = await conn.fetchrow(
                "SELECT revoked_at IS NOT NULL AS spent, expires_at > $2 AS live "
                "FROM refresh_tokens WHERE jti = $1 FOR UPDATE",
                jti,
                now,
            )
            if row is None:  # pruned in between: it had expired
                return RefreshOutcome.INVALID
            if row["spent"]:
                await conn.execute(
                    "UPDATE refresh_tokens SET revoked_at = $2 "
                    "WHERE family = $1 AND revoked_at IS NULL",
                    family,
                    now,
                )
                return RefreshOutcome.REUSED
            if not row["live"]:
                return RefreshOutcome.INVALID
            await conn.execute("UPDATE refresh_tokens SET revoked_at = $2 WHERE jti = $1", jti, now)
            await conn.execute(
                "INSERT INTO refresh_tokens (jti, user_id, expires_at, family) "
                "VALUES ($1, $2, $3, $4)",
                successor,
                user_id,
                successor_expires_at,
                family,
            )
            return RefreshOutcome.ROTATED

        return await self._db.transaction(run)

    async def revoke(self, jti: str, user_id: str) -> None:
        await self._db.execute(
            "UPDATE refresh_tokens SET revoked_at = $3 WHERE jti = $1 AND user_id = $2 "
            "AND revoked_at IS NULL",
            jti,
            user_id,
            utc_now(),
        )

    async def revoke_all(self, user_id: str) -> None:
        await self._db.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            user_id,
            utc_now(),
        )
