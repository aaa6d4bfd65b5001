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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from shopkit_server.errors import InvalidCursor
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

    async def _on_connection(
        self, use: Callable[[Connection], Awaitable[T]], *, snapshot: bool = False
    ) -> T:
        """Run ``use`` on a pooled connection (in a transaction: READ COMMITTED, or with
        ``snapshot`` REPEATABLE READ READ ONLY), once more on a fresh one if the first was stale.

        A connection whose server process was terminated (a failover, a restart) may still be
        in the pool with the end of its socket not yet read: the server's farewell error leaves
        asyncpg in a state where the next statement fails with InternalClientError *before
        anything is sent*. That connection is closed and the work runs again on another one,
        safe for writes too since the first attempt sent nothing.
        """

        async def in_transaction(conn: Connection) -> T:
            if snapshot:
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    return await use(conn)
            async with conn.transaction():
                return await use(conn)

        return await self._statement(in_transaction)

    async def _statement(self, use: Callable[[Connection], Awaitable[T]]) -> T:
        """``use`` on a pooled connection, retried on another while the one it got was stale.

        After a restart every pooled connection may be stale: each one found so is closed, so
        within one attempt more than the pool holds a fresh connection is opened."""
        attempts = self._pool.get_max_size() + 1
        for attempt in range(attempts):
            async with self._pool.acquire() as conn:
                try:
                    return await use(conn)
                except asyncpg.exceptions.InternalClientError:
                    conn.terminate()
                    if attempt == attempts - 1:
                        raise
        raise AssertionError("unreachable")

    async def transaction(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run ``work`` in one transaction: committed when it returns, rolled back if it raises.

        Deadlocks and serialization failures roll back and run ``work`` again (a few times,
        after a short random pause), so ``work`` must only touch the database.
        """
        for attempt in range(_ATTEMPTS):
            try:
                return await self._on_connection(work)
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
            return await self._on_connection(work, snapshot=True)
        except Exception as exc:
            if _lost(exc):
                raise StoreUnreachable() from exc
            raise

    async def fetch(self, sql: str, *args: Any) -> list[Record]:
        try:
            return await self._statement(lambda conn: conn.fetch(sql, *args))
        except Exception as exc:
            if _lost(exc):
                raise StoreUnreachable() from exc
            raise

    async def fetchrow(self, sql: str, *args: Any) -> Record | None:
        try:
            return await self._statement(lambda conn: conn.fetchrow(sql, *args))
        except Exception as exc:
            if _lost(exc):
                raise StoreUnreachable() from exc
            raise

    async def fetchval(self, sql: str, *args: Any) -> Any:
        try:
            return await self._statement(lambda conn: conn.fetchval(sql, *args))
        except Exception as exc:
            if _lost(exc):
                raise StoreUnreachable() from exc
            raise

    async def execute(self, sql: str, *args: Any) -> str:
        try:
            return await self._statement(lambda conn: conn.execute(sql, *args))
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


def time_from_key(text: str) -> datetime:
    """A timestamp read back from a cursor key (ISO 8601 with its offset, as ``isoformat()``
    wrote it); InvalidCursor for anything else."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCursor() from None
    if moment.tzinfo is None:
        raise InvalidCursor()
    try:  # the driver sends UTC: a time at the very ends of the calendar has none
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidCursor() from None


def text_from_key(value: str) -> str:
    """A text column's value read back from a cursor key: PostgreSQL text holds no NUL, so a
    key with one is none of ours (and must not reach the server as a 500)."""
    if "\x00" in value:
        raise InvalidCursor()
    return value
