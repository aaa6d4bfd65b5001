"""SQLite storage for users and refresh tokens."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from shopkit_server.auth.models import User, UserChanges
from shopkit_server.auth.repository import RefreshOutcome
from shopkit_server.pagination import PageResult
from shopkit_server.security import Role
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.sqlite.db import Database, Row, from_db_time, to_db_time

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('customer', 'admin')),
        is_active INTEGER NOT NULL DEFAULT 1,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_login TEXT
    )""",
    # Emails are stored lower-cased; NOCASE makes the index refuse a mixed-case twin anyway.
    "CREATE UNIQUE INDEX users_email ON users (email COLLATE NOCASE)",
    "CREATE INDEX users_created ON users (created_at DESC)",
    """CREATE TABLE refresh_tokens (
        jti TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        expires_at TEXT NOT NULL,
        revoked_at TEXT
    )""",
    "CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id)",
    "CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at)",
)

# Migration 2: refresh-token families (reuse of a spent token revokes its login's chain). A
# token issued before it is a family of its own.
FAMILIES: tuple[str, ...] = (
    "ALTER TABLE refresh_tokens ADD COLUMN family TEXT",
    "UPDATE refresh_tokens SET family = jti WHERE family IS NULL",
    "CREATE INDEX refresh_tokens_family ON refresh_tokens (family)",
)

# Migration 3: case-folded copies of the searchable fields. SQLite's lower() and LIKE fold
# ASCII only; Python's str.casefold (registered on every connection as ``shopkit_casefold``)
# folds every script ("ÉLODIE" -> "élodie", "Straße" -> "strasse"), as Mongo's search does.
SEARCH_KEY: tuple[str, ...] = (
    "ALTER TABLE users ADD COLUMN email_folded TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE users ADD COLUMN name_folded TEXT NOT NULL DEFAULT ''",
    "UPDATE users SET email_folded = shopkit_casefold(email), name_folded = shopkit_casefold(name)",
)
# Migration 5: email verification and the token version a password reset bumps. Accounts
# that existed before are unverified (nothing ever proved their address).
VERIFICATION: tuple[str, ...] = (
    "ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0",
)
_REFOLD = (
    "UPDATE users SET email_folded = shopkit_casefold(email), "
    "name_folded = shopkit_casefold(name) WHERE id = ?"
)

_COLUMNS = (
    "id, email, name, role, is_active, password_hash, created_at, last_login, "
    "email_verified, token_version"
)


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=Role(row["role"]),
        is_active=bool(row["is_active"]),
        password_hash=row["password_hash"],
        created_at=from_db_time(row["created_at"]),
        last_login=from_db_time(row["last_login"]) if row["last_login"] else None,
        email_verified=bool(row["email_verified"]),
        token_version=int(row["token_version"]),
    )


def _like(text: str) -> str:
    escaped = text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqliteUserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, user: User) -> None:
        try:
            async with self._db.write() as conn:
                await conn.execute(
                    f"INSERT INTO users ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        user.id,
                        user.email,
                        user.name,
                        user.role.value,
                        int(user.is_active),
                        user.password_hash,
                        to_db_time(user.created_at),
                        to_db_time(user.last_login) if user.last_login else None,
                        int(user.email_verified),
                        user.token_version,
                    ),
                )
                await conn.execute(_REFOLD, (user.id,))
        except sqlite3.IntegrityError as exc:
            raise DuplicateKeyError("email") from exc

    async def get(self, user_id: str) -> User | None:
        row = await self._db.read_one_now(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = await self._db.read_one_now(
            f"SELECT {_COLUMNS} FROM users WHERE email = ? COLLATE NOCASE", (email,)
        )
        return _user(row) if row else None

    async def update(self, user_id: str, changes: UserChanges) -> User | None:
        values: dict[str, Any] = {
            "name": changes.name,
            "email": changes.email,
            "role": changes.role.value if changes.role else None,
            "is_active": None if changes.is_active is None else int(changes.is_active),
            "password_hash": changes.password_hash,
            "last_login": to_db_time(changes.last_login) if changes.last_login else None,
            "email_verified": None
            if changes.email_verified is None
            else int(changes.email_verified),
        }
        sets = {column: value for column, value in values.items() if value is not None}
        try:
            async with self._db.write() as conn:
                if sets or changes.bump_token_version:
                    assignments = ", ".join(
                        [f"{column} = ?" for column in sets]  # fixed names
                        + (
                            ["token_version = token_version + 1"]
                            if changes.bump_token_version
                            else []
                        )
                    )
                    await conn.execute(
                        f"UPDATE users SET {assignments} WHERE id = ?",
                        (*sets.values(), user_id),
                    )
                    if "name" in sets or "email" in sets:
                        await conn.execute(_REFOLD, (user_id,))
                rows = list(
                    await conn.execute_fetchall(
                        f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,)
                    )
                )
        except sqlite3.IntegrityError as exc:
            raise DuplicateKeyError("email") from exc
        return _user(rows[0]) if rows else None

    async def list(self, *, query: str | None, offset: int, limit: int) -> PageResult[User]:
        where: str = ""
        params: tuple[str, ...] = ()
        if query:
            where = "WHERE email_folded LIKE ? ESCAPE '\\' OR name_folded LIKE ? ESCAPE '\\'"
            params = (_like(query), _like(query))
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS}, count(*) OVER () AS total FROM users {where} "
            "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        if rows:
            return PageResult(items=[_user(r) for r in rows], total=int(rows[0]["total"]))
        count = await self._db.fetch_one(f"SELECT count(*) FROM users {where}", params)
        return PageResult(items=[], total=int(count[0]) if count else 0)


class SqliteRefreshTokenRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, jti: str, user_id: str, expires_at: datetime, *, family: str | None = None
    ) -> None:
        async with self._db.write() as conn:
            # Expired rows are useless; pruning them here keeps the table small (indexed).
            await conn.execute(
                "DELETE FROM refresh_tokens WHERE expires_at < ?",
                (to_db_time(datetime.now(UTC)),),
            )
            await conn.execute(
                "INSERT INTO refresh_tokens (jti, user_id, expires_at, family) VALUES (?, ?, ?, ?)",
                (jti, user_id, to_db_time(expires_at), family or jti),
            )

    async def rotate(
        self, jti: str, user_id: str, now: datetime, successor: str, successor_expires_at: datetime
    ) -> RefreshOutcome:
        stamp = to_db_time(now)
        # One write transaction (SQLite has a single writer): a concurrent rotation of the same
        # token runs wholly before or after this one, never in between.
        async with self._db.write() as conn:
            rows = list(
                await conn.execute_fetchall(
                    "SELECT family, revoked_at IS NOT NULL AS spent, expires_at > ? AS live "
                    "FROM refresh_tokens WHERE jti = ? AND user_id = ?",
                    (stamp, jti, user_id),
                )
            )
            if not rows:
                return RefreshOutcome.INVALID
            family = rows[0]["family"] or jti
            if rows[0]["spent"]:
                await conn.execute(
                    "UPDATE refresh_tokens SET revoked_at = ? "
                    "WHERE family = ? AND revoked_at IS NULL",
                    (stamp, family),
                )
                return RefreshOutcome.REUSED
            if not rows[0]["live"]:
                return RefreshOutcome.INVALID
            await conn.execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE jti = ?", (stamp, jti)
            )
            await conn.execute(
                "INSERT INTO refresh_tokens (jti, user_id, expires_at, family) VALUES (?, ?, ?, ?)",
                (successor, user_id, to_db_time(successor_expires_at), family),
            )
            return RefreshOutcome.ROTATED

    async def revoke(self, jti: str, user_id: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE jti = ? AND user_id = ? "
                "AND revoked_at IS NULL",
                (to_db_time(datetime.now(UTC)), jti, user_id),
            )

    async def revoke_all(self, user_id: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                (to_db_time(datetime.now(UTC)), user_id),
            )
