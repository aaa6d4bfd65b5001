"""Bounded point reads on the event-loop thread (``Database.read_now``).

They must see every committed write at once, never run on an aiosqlite thread, and go to a
pooled reader (not fail, not block the loop for long) when the file is locked.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shopkit_server.store.sqlite.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    opened = await Database.open(tmp_path / "now.db", readers=1)
    await opened.execute_script(["CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)"])
    yield opened
    await opened.close()


async def test_read_now_runs_on_the_loop_thread_and_sees_the_last_commit(db: Database) -> None:
    threads: list[int] = []
    loop_reader: Any = db._loop_reader
    assert loop_reader is not None
    loop_reader.create_function("whose_thread", 0, lambda: threads.append(threading.get_ident()))
    async with db.write() as conn:
        await conn.execute("INSERT INTO t (k, v) VALUES ('a', 1)")
    row = await db.read_one_now("SELECT v, whose_thread() FROM t WHERE k = ?", ("a",))
    assert row is not None and row[0] == 1
    assert threads == [threading.get_ident()]
    async with db.write() as conn:
        await conn.execute("UPDATE t SET v = 2 WHERE k = 'a'")
    row = await db.read_one_now("SELECT v FROM t WHERE k = ?", ("a",))
    assert row is not None and row[0] == 2


async def test_read_now_cannot_write(db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await db.read_now("INSERT INTO t (k, v) VALUES ('b', 1)")
    assert await db.read_now("SELECT k FROM t") == []


class _Locked:
    """The loop reader while another process holds the file (a WAL restart, an exclusive lock):
    SQLite answers "database is locked" once the busy timeout is spent."""

    def __init__(self) -> None:
        self.tried: list[str] = []

    def execute(self, sql: str, params: Any = ()) -> Any:
        self.tried.append(sql)
        raise sqlite3.OperationalError("database is locked")

    def close(self) -> None:
        pass


async def test_a_locked_file_sends_the_read_to_a_pooled_reader(db: Database) -> None:
    await db.execute_script(["INSERT INTO t (k, v) VALUES ('a', 1)"])
    real = db._loop_reader
    assert real is not None
    locked = _Locked()
    db._loop_reader = locked  # type: ignore[assignment]
    try:
        rows = await db.read_now("SELECT v FROM t WHERE k = ?", ("a",))
    finally:
        db._loop_reader = real
    assert locked.tried == ["SELECT v FROM t WHERE k = ?"]
    assert [row[0] for row in rows] == [1]  # answered by a pooled reader


async def test_other_errors_are_not_swallowed(db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await db.read_now("SELECT * FROM missing")


async def test_memory_database_reads_through_the_pool() -> None:
    db = await Database.open(Path(":memory:"), readers=1)
    try:
        assert db._loop_reader is None
        rows = await db.read_now("SELECT 1")
        assert rows[0][0] == 1
    finally:
        await db.close()
