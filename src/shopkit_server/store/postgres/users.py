"""PostgreSQL storage for users and refresh tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from shopkit_server.auth.models import User, UserChanges
from shopkit_server.clock import utc_now
from shopkit_server.pagination import PageResult
from shopkit_server.security import Role
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.postgres.db import Connection, Database, Record, affected

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

_COLUMNS = "id, email, name, role, is_active, password_hash, created_at, last_login"


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
    )


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class PostgresUserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, user: User) -> None:
        try:
            await self._db.execute(
                f"INSERT INTO users ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                user.id,
                user.email,
                user.name,
                user.role.value,
                user.is_active,
                user.password_hash,
                user.created_at,
                user.last_login,
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
        }
        sets = {column: value for column, value in values.items() if value is not None}
        try:
            if not sets:
                return await self.get(user_id)
            # Only the fixed names above ever become column names.
            assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(sets, 2))
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
            where = "WHERE lower(email) LIKE $1 OR lower(name) LIKE $1"
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


class PostgresRefreshTokenRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, jti: str, user_id: str, expires_at: datetime) -> None:
        async def run(conn: Connection) -> None:
            # Expired rows are useless; pruning a few here keeps the table small. SKIP LOCKED:
            # concurrent logins never wait on each other's pruning.
            await conn.execute(
                "DELETE FROM refresh_tokens WHERE jti IN (SELECT jti FROM refresh_tokens "
                "WHERE expires_at < $1 LIMIT 100 FOR UPDATE SKIP LOCKED)",
                utc_now(),
            )
            await conn.execute(
                "INSERT INTO refresh_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3)",
                jti,
                user_id,
                expires_at,
            )

        await self._db.transaction(run)

    async def consume(self, jti: str, user_id: str, now: datetime) -> bool:
        # One guarded UPDATE: of two concurrent refreshes, the second waits for the row and
        # then finds revoked_at set, so only one wins.
        status = await self._db.execute(
            "UPDATE refresh_tokens SET revoked_at = $3 WHERE jti = $1 AND user_id = $2 "
            "AND revoked_at IS NULL AND expires_at > $3",
            jti,
            user_id,
            now,
        )
        return affected(status) == 1

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
