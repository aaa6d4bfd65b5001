"""A cancelled SQLite write never wedges the writer nor leaves half a transaction behind.

aiosqlite runs statements on its own thread: cancelling the awaiting task does not stop them.
Each test cancels a write at one point (waiting for the lock, during BEGIN, inside the body,
during COMMIT) and then shows that a later write works and the cancelled one is all or nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from shopkit_server.store.sqlite.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    opened = await Database.open(tmp_path / "cancel.db", readers=1)
    await opened.execute_script(["CREATE TABLE t (k TEXT PRIMARY KEY)"])
    yield opened
    await opened.close()


def _signal_on(db: Database, prefix: str) -> asyncio.Event:
    """An event set when the writer submits a statement starting with ``prefix``."""
    seen = asyncio.Event()
    writer: Any = db._writer
    original: Callable[..., Awaitable[aiosqlite.Cursor]] = writer.execute

    async def execute(sql: str, *args: Any) -> aiosqlite.Cursor:
        # Scheduled before the event wakes the test, so the statement is on its way to the
        # thread by the time the test cancels.
        pending = asyncio.ensure_future(original(sql, *args))
        if sql.startswith(prefix):
            seen.set()
        return await pending

    writer.execute = execute
    return seen


async def _two_rows(db: Database, first: str, second: str, hold: asyncio.Event | None) -> None:
    async with db.write() as conn:
        await conn.execute("INSERT INTO t (k) VALUES (?)", (first,))
        if hold is not None:
            await hold.wait()
        await conn.execute("INSERT INTO t (k) VALUES (?)", (second,))


async def _keys(db: Database) -> set[str]:
    return {row["k"] for row in await db.fetch_all("SELECT k FROM t")}


async def _later_write_works(db: Database) -> None:
    await _two_rows(db, "later-1", "later-2", None)
    assert {"later-1", "later-2"} <= await _keys(db)
    assert not db._writer.in_transaction


async def _cancelled(task: asyncio.Task[None]) -> None:
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancel_while_waiting_for_the_lock(db: Database) -> None:
    release = asyncio.Event()
    holder = asyncio.create_task(_two_rows(db, "held-1", "held-2", release))
    await asyncio.sleep(0)  # the holder is inside its transaction, waiting on `release`
    waiter = asyncio.create_task(_two_rows(db, "w-1", "w-2", None))
    await asyncio.sleep(0)
    assert db._write_lock.locked()
    waiter.cancel()
    await _cancelled(waiter)
    release.set()
    await holder
    assert await _keys(db) == {"held-1", "held-2"}
    await _later_write_works(db)


async def test_cancel_during_begin(db: Database, tmp_path: Path) -> None:
    # Another connection holds the write lock, so our BEGIN IMMEDIATE is stuck on the thread.
    blocker = sqlite3.connect(tmp_path / "cancel.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    begun = _signal_on(db, "BEGIN")
    writer = asyncio.create_task(_two_rows(db, "b-1", "b-2", None))
    await begun.wait()
    writer.cancel()
    await asyncio.sleep(0)
    blocker.execute("ROLLBACK")  # now the BEGIN goes through on aiosqlite's thread
    blocker.close()
    await _cancelled(writer)
    await _later_write_works(db)
    assert "b-1" not in await _keys(db)


async def test_cancel_inside_the_body(db: Database) -> None:
    inserting = _signal_on(db, "INSERT")
    writer = asyncio.create_task(_two_rows(db, "body-1", "body-2", asyncio.Event()))
    await inserting.wait()  # the first INSERT is on the thread; the body then waits forever
    writer.cancel()
    await _cancelled(writer)
    assert await _keys(db) == set()  # the first row was rolled back
    await _later_write_works(db)


async def test_cancel_during_commit(db: Database) -> None:
    committing = _signal_on(db, "COMMIT")
    writer = asyncio.create_task(_two_rows(db, "c-1", "c-2", None))
    await committing.wait()
    writer.cancel()
    await _cancelled(writer)
    # COMMIT had been sent: the write landed whole (never one row of two).
    assert await _keys(db) == {"c-1", "c-2"}
    await _later_write_works(db)


async def test_cancel_during_rollback_of_a_failed_write(db: Database) -> None:
    rolling_back = _signal_on(db, "ROLLBACK")

    async def failing() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO t (k) VALUES ('r-1')")
            raise RuntimeError("boom")

    writer = asyncio.create_task(failing())
    await rolling_back.wait()
    writer.cancel()
    with pytest.raises((asyncio.CancelledError, RuntimeError)):
        await writer
    assert await _keys(db) == set()
    await _later_write_works(db)
