"""PostgreSQL connections: one asyncpg pool per process, transactions that retry.

Every multi-step write runs in :meth:`Database.transaction`, one ``READ COMMITTED``
transaction on one pooled connection. The invariants do not rest on the isolation level but on
what PostgreSQL guarantees row by row: a guarded ``UPDATE ... WHERE stock >= $n`` re-checks the
row it waited for, ``INSERT ... ON CONFLICT`` waits for a concurrent insert of the same key and
then sees it, and ``SELECT ... FOR UPDATE`` (always in id order) serialises the writers of one
row. A deadlock or serialization failure is retried a few times with the whole function, so a
caller never sees one. A lost or refused connection becomes :class:`StoreUnreachable` (a 503);
asyncpg replaces a pooled connection the server closed, so the next request gets a fresh one.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from shopkit_server.store.base import StoreUnreachable

T = TypeVar("T")
Record = asyncpg.Record
if TYPE_CHECKING:
    Connection = PoolConnectionProxy[Record]  # what the pool lends a transaction
else:
    Connection = PoolConnectionProxy

_RETRIED = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
_ATTEMPTS = 5
# The server is gone, restarting, out of connections, or dropped ours (SQLSTATE classes 08, 57
# and 53, a refused or timed-out connect): a 503, not a 500. asyncpg's InterfaceError stays
# out: it also means a bug (a wrong argument), which must stay a 500 and be logged.
_UNREACHABLE = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    OSError,
    TimeoutError,
)


def _lost(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) is a lost or refused connection.

    A transaction whose connection dies ends with asyncpg's InterfaceError ("the underlying
    connection is closed") raised while handling the server's error: the cause is in the chain.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _UNREACHABLE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def _init_connection(conn: asyncpg.Connection[Record]) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class Database:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: str, *, pool_size: int) -> Database:
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=pool_size,
            init=_init_connection,
            # Statements are all ours and few: keep asyncpg's prepared-statement cache.
            server_settings={"application_name": "shopkit", "timezone": "UTC"},
            timeout=10,
        )
        return cls(pool)

    async def transaction(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run ``work`` in one transaction: committed when it returns, rolled back if it raises.

        Deadlocks and serialization failures roll back and run ``work`` again (a few times,
        after a short random pause), so ``work`` must only touch the database.
        """
        for attempt in range(_ATTEMPTS):
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    return await work(conn)
            except _RETRIED:
                if attempt == _ATTEMPTS - 1:
                    raise
                await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311
            except Exception as exc:
                if _lost(exc):
                    raise StoreUnreachable() from exc
                raise
        raise AssertionError("unreachable")

    async def snapshot(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run the reads of ``work`` in one ``REPEATABLE READ READ ONLY`` transaction: every
        statement sees the same committed state (``READ COMMITTED`` takes a new one for each)."""
        try:
            async with (
                self._pool.acquire() as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                return await work(conn)
        except Exception as exc:
            if _lost(exc):
                raise StoreUnreachable() from exc
            raise

    async def fetch(self, sql: str, *args: Any) -> list[Record]:
        try:
            return await self._pool.fetch(sql, *args)
        except Exception as exc:
            if _lost(exc):
                raise StoreUnreachable() from exc
            raise

    async def fetchrow(self, sql: str, *args: Any) -> Record | None:
        try:
            return await self._pool.fetchrow(sql, *args)
        except Exception as exc:
            if _lost(exc):
                raise StoreUnreachable() from exc
            raise

    async def fetchval(self, sql: str, *args: Any) -> Any:
        try:
            return await self._pool.fetchval(sql, *args)
        except Exception as exc:
            if _lost(exc):
                raise StoreUnreachable() from exc
            raise

    async def execute(self, sql: str, *args: Any) -> str:
        try:
            return await self._pool.execute(sql, *args)
        except Exception as exc:
            if _lost(exc):
                raise StoreUnreachable() from exc
            raise

    async def ping(self) -> None:
        await self.fetchval("SELECT 1")

    async def close(self) -> None:
        await self._pool.close()


def affected(status: str) -> int:
    """The row count of a command status such as ``UPDATE 1`` or ``INSERT 0 1``."""
    return int(status.rsplit(" ", 1)[-1])
