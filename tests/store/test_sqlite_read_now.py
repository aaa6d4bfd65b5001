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

from shopkit_server.store.sqlite import db as db_module
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

    def cursor(self) -> _Locked:
        return self

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


# Statements that give way on the loop (read_bounded's budget). The sqlite3 module of CPython
# 3.11 keeps a failed statement marked in use when sqlite3_reset reports the failure, and then
# prepares that SQL afresh on every later run. SQLite calls the authorizer while it prepares a
# statement, and only then: these tests count its calls to see whether a statement is reused.


async def _numbers(db: Database, count: int) -> None:
    await db.execute_script(
        [
            "CREATE TABLE n (k INTEGER PRIMARY KEY)",
            "WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s "
            f"WHERE k < {count}) INSERT INTO n (k) SELECT k FROM s",
        ]
    )


def _count_prepares(db: Database) -> list[str]:
    prepared: list[str] = []
    loop_reader: Any = db._loop_reader

    def authorizer(action: int, *args: Any) -> int:
        prepared.append(str(args[:2]))
        return sqlite3.SQLITE_OK

    loop_reader.set_authorizer(authorizer)
    return prepared


async def test_a_read_stopped_before_its_first_row_keeps_its_statement(db: Database) -> None:
    await _numbers(db, 5000)
    prepared = _count_prepares(db)
    counting = "SELECT COUNT(*) FROM n WHERE k % 7 = ? AND k <= ?"  # all its work in one step
    assert (await db.read_bounded(counting, (0, 10), steps=1_000))[0][0] == 1
    assert prepared  # prepared once, on the loop
    assert (await db.read_bounded(counting, (0, 5000), steps=1_000))[0][0] == 714  # gave way
    prepared.clear()
    for _ in range(5):
        assert (await db.read_bounded(counting, (0, 10), steps=1_000))[0][0] == 1
    assert prepared == []  # the cached statement served every run after the interrupt


async def test_a_read_stopped_after_its_first_row_renews_the_loop_connection(
    db: Database,
) -> None:
    await _numbers(db, 5000)
    walking = "SELECT k FROM n WHERE k % 7 = 0 AND k <= ?"  # rows come as the walk goes
    before = db._loop_reader
    assert len(await db.read_bounded(walking, (5000,), steps=1_000)) == 714  # gave way
    if db._renewal is not None:  # under way on a worker thread (or done while the pool read)
        await db._renewal
    assert db._loop_reader is not before and db._loop_reader is not None
    prepared = _count_prepares(db)
    assert len(await db.read_bounded(walking, (100,))) == 14
    assert prepared  # prepared once on the new connection...
    prepared.clear()
    for _ in range(5):
        assert len(await db.read_bounded(walking, (100,))) == 14
    assert prepared == []  # ...and reused from then on
    # At most one renewal per interval: the next interrupt soon after renews nothing.
    renewed = db._loop_reader
    assert len(await db.read_bounded(walking, (4999,), steps=1_000)) == 714
    assert db._renewal is None and db._loop_reader is renewed


async def test_closing_waits_for_a_renewal_under_way(tmp_path: Path) -> None:
    opened = await Database.open(tmp_path / "renew.db", readers=1)
    opened._renew_loop_reader_soon()
    renewal = opened._renewal
    assert renewal is not None and not renewal.done()
    await opened.close()  # waits for it; the connection it opened is closed, not kept
    assert renewal.done() and opened._renewal is None and opened._loop_reader is None


async def test_a_read_that_spent_its_budget_goes_to_the_pool_when_asked_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _numbers(db, 5000)
    on_loop: list[str] = []
    loop_reader: Any = db._loop_reader
    loop_reader.set_trace_callback(on_loop.append)
    counting = "SELECT COUNT(*) FROM n WHERE k <= ?"
    assert (await db.read_bounded(counting, (5000,), steps=1_000))[0][0] == 5000  # gave way
    assert on_loop == ["SELECT COUNT(*) FROM n WHERE k <= 5000"]  # the trace: values bound
    on_loop.clear()
    assert (await db.read_bounded(counting, (5000,), steps=1_000))[0][0] == 5000
    assert on_loop == []  # straight to a pooled reader
    assert (await db.read_bounded(counting, (10,), steps=1_000))[0][0] == 10
    assert on_loop == ["SELECT COUNT(*) FROM n WHERE k <= 10"]  # tried on the loop: answered
    # Remembered for LONG_READ_MEMORY seconds only: then tried on the loop once more.
    on_loop.clear()
    monkeypatch.setattr(db_module, "LONG_READ_MEMORY", 0.0)
    assert (await db.read_bounded(counting, (4999,), steps=1_000))[0][0] == 4999  # gave way
    assert (await db.read_bounded(counting, (4999,), steps=1_000))[0][0] == 4999
    assert on_loop == ["SELECT COUNT(*) FROM n WHERE k <= 4999"] * 2


def test_the_step_budget_interrupts_once_it_is_spent_and_never_before() -> None:
    # SQLite calls the handler every _STEP_GRAIN steps of a statement's count over all its
    # runs, so the first call of a run comes anywhere up to one grain in: the budget is
    # rounded up to whole grains, and the call after them interrupts.
    grain = db_module._STEP_GRAIN
    for steps, calls in ((1, 1), (grain, 1), (grain + 1, 2), (20 * grain, 20)):
        budget = db_module._StepBudget(steps)
        assert [budget() for _ in range(calls + 1)] == [0] * calls + [1], steps
