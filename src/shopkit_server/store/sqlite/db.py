"""SQLite connections: one writer, a small pool of readers, WAL so they never block each other.

Writes are serialised through one connection behind an ``asyncio.Lock`` and run as
``BEGIN IMMEDIATE`` transactions, so a read-check-write inside :meth:`Database.write` is atomic
with respect to every other write of this process; ``busy_timeout`` covers other processes
sharing the file. Reads take any idle reader connection and see the last committed state.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-16000",
)


async def _connect(path: str) -> aiosqlite.Connection:
    pending = aiosqlite.connect(path, isolation_level=None)  # we issue BEGIN ourselves
    # A store nobody closed (an embedded shop started on its first request, whose host never
    # stops it) must not keep the process alive at exit: every transaction is already
    # committed, so the worker thread may die with the process.
    thread = getattr(pending, "_thread", None)
    if thread is not None:
        thread.daemon = True
    conn = await pending
    conn.row_factory = sqlite3.Row
    for pragma in _PRAGMAS:
        await conn.execute(pragma)
    return conn


class Database:
    def __init__(self, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection]) -> None:
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers = readers
        for conn in readers:
            self._readers.put_nowait(conn)

    @classmethod
    async def open(cls, path: Path, readers: int = 4) -> Database:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(str(path))
        return cls(writer, [await _connect(str(path)) for _ in range(readers)])

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One all-or-nothing transaction: committed on exit, rolled back on any exception."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self.read() as conn:
            return list(await conn.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def execute_script(self, statements: Iterable[str]) -> None:
        async with self.write() as conn:
            for statement in statements:
                await conn.execute(statement)

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.execute_fetchall("SELECT 1")

    async def close(self) -> None:
        for conn in [self._writer, *self._all_readers]:
            await conn.close()


def to_db_time(moment: datetime) -> str:
    """UTC ISO 8601 with a fixed width, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text)
