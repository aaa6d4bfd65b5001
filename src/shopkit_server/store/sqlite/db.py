"""SQLite connections: one writer, a small pool of readers, WAL so they never block each other.

Writes are serialised through one connection behind an ``asyncio.Lock`` and run as
``BEGIN IMMEDIATE`` transactions, so a read-check-write inside :meth:`Database.write` is atomic
with respect to every other write of this process; ``busy_timeout`` covers other processes
sharing the file. Reads take any idle reader connection and see the last committed state.

Cancellation: aiosqlite runs each statement on the connection's own thread, so cancelling the
task that awaits one does not stop the statement. A ``BEGIN`` whose waiter was cancelled still
opens a transaction, and one nobody rolls back makes every later ``BEGIN`` fail ("cannot start
a transaction within a transaction"). So ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` are always
waited for to their end (a cancellation is delivered once they are done), a cancelled or failed
write is rolled back, and the writer's ``in_transaction`` is checked before every ``BEGIN``.

Point reads on the loop (:meth:`Database.read_now`): a primary-key lookup takes microseconds in
SQLite, far less than handing it to an aiosqlite thread and back (two context switches and a
future). Such bounded reads (one row by a unique key, a handful of rows by their keys) run on
the event-loop thread through a ``sqlite3`` connection of its own. In WAL mode a reader never
waits for the writer; the rare moment it could (a checkpoint restarting the log) is capped by a
short busy timeout, after which the read simply goes to a pooled reader instead. Anything that
can scan many rows or take long (listings, searches, counts) stays on the aiosqlite readers,
except through :meth:`Database.read_bounded`: a read that is usually short (a page that walks
its index) tried on the loop with a budget of VM steps, and run on a pooled reader when it
spends it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import structlog

from shopkit_server.expiring import ExpiringKeys
from shopkit_server.store._rows import RowCodec

log = structlog.get_logger("shopkit.store.sqlite")

Row = sqlite3.Row
T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any]

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-16000",
)


def _casefold(text: str | None) -> str | None:
    return None if text is None else str(text).casefold()


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
    # Unicode case folding for searches (SQLite's own lower() folds ASCII only).
    await conn.create_function("shopkit_casefold", 1, _casefold, deterministic=True)
    for pragma in _PRAGMAS:
        await conn.execute(pragma)
    return conn


# How long a read on the loop thread may wait for a lock before it goes to a pooled reader.
_LOOP_BUSY_TIMEOUT_MS = 20


def _connect_on_loop(path: str) -> sqlite3.Connection:
    """A read-only connection for bounded reads on the event-loop thread (see read_now)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.create_function("shopkit_casefold", 1, _casefold, deterministic=True)
    for pragma in _PRAGMAS:
        if not pragma.startswith("PRAGMA busy_timeout"):
            conn.execute(pragma)
    conn.execute(f"PRAGMA busy_timeout={_LOOP_BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA query_only=ON")
    return conn


# read_bounded: SQLite VM steps a read may take on the loop thread before it moves to a pooled
# reader. A 20-item page walking its index takes ~1,000; counting 10,000 rows ~80,000.
LOOP_STEP_BUDGET = 20_000

# How often (in VM steps) SQLite calls the budget's progress handler. SQLite counts a prepared
# statement's steps over all its runs, not per run, and the sqlite3 module reuses prepared
# statements: a handler that interrupted at its first call stopped a 900-step page on about
# one run in 22, wherever that run's count crossed a multiple of the budget. The handler
# counts its own calls from each run's start instead (the first may come at any step up to
# the grain): a run is stopped after at least ``steps`` steps and less than two grains more.
_STEP_GRAIN = 1_000


# read_bounded: a read that spent its budget is sent straight to a pooled reader when asked
# again with the same SQL and parameters within this many seconds (a small category's page
# walks the newest-first index a long way, every time): no loop attempt wasted on it again,
# and no statement spoiled again (see Database._on_loop). At most _LONG_READS remembered,
# the least recently added dropped first.
LONG_READ_MEMORY = 60.0
_LONG_READS = 512


class _StepBudget:
    """The progress handler of read_bounded: calls left before it interrupts the run."""

    __slots__ = ("calls_left",)

    def __init__(self, steps: int) -> None:
        self.calls_left = -(-steps // _STEP_GRAIN)  # rounded up

    def __call__(self) -> int:
        self.calls_left -= 1
        return 1 if self.calls_left < 0 else 0  # non-zero: SQLite interrupts the statement


# A read on the loop that gives way after its first row (see _on_loop) leaves its statement
# unusable in the sqlite3 module's cache; the loop connection is then renewed, at most this
# often (seconds): opening one costs ~0.6 ms, done on a worker thread.
LOOP_READER_RENEWAL_INTERVAL = 1.0


class Database:
    def __init__(
        self,
        writer: aiosqlite.Connection,
        readers: list[aiosqlite.Connection],
        loop_path: str | None = None,
    ) -> None:
        self._writer = writer
        # None for a ":memory:" database (each connection would be a database of its own).
        self._loop_path = loop_path
        self._loop_reader = None if loop_path is None else _connect_on_loop(loop_path)
        self._renewal: asyncio.Task[None] | None = None
        self._renewable_at = 0.0
        self._closed = False
        self._long_reads: ExpiringKeys[tuple[Any, ...]] = ExpiringKeys(_LONG_READS)
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
        pool = [await _connect(str(path)) for _ in range(readers)]
        return cls(writer, pool, None if str(path) == ":memory:" else str(path))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self._readers.get()
        try:
            if conn.in_transaction:  # left open by a cancelled snapshot: never read stale data
                await _abort(conn)
            yield conn
        finally:
            self._readers.put_nowait(conn)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[aiosqlite.Connection]:
        """A reader inside one read transaction: every query sees the same committed state."""
        async with self.read() as conn:
            cancelled = await _control(conn, "BEGIN")
            try:
                if cancelled is not None:
                    raise cancelled
                yield conn
            finally:
                await _abort(conn)  # a read transaction has nothing to keep: end it

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One all-or-nothing transaction: committed on exit, rolled back on any exception.

        Safe under cancellation at every point: waiting for the lock, during ``BEGIN``, in the
        body, during ``COMMIT``. The transaction is then either committed whole or rolled back,
        and the writer is left ready for the next write.
        """
        async with self._write_lock:
            if self._writer.in_transaction:
                # Only a bug could leave one open; repair it rather than wedge every write.
                log.error("sqlite_writer_left_in_transaction")
                await _control(self._writer, "ROLLBACK")
            try:
                cancelled = await _control(self._writer, "BEGIN IMMEDIATE")
            except BaseException:
                await _abort(self._writer)
                raise
            if cancelled is not None:
                await _abort(self._writer)
                raise cancelled
            try:
                yield self._writer
            except BaseException:
                await _abort(self._writer)
                raise
            try:
                cancelled = await _control(self._writer, "COMMIT")
            except BaseException:
                await _abort(self._writer)  # a failed COMMIT (SQLITE_BUSY...) leaves it open
                raise
            if cancelled is not None:
                raise cancelled  # committed: the caller was cancelled after the fact

    async def transact(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on the writer's own thread inside one ``BEGIN IMMEDIATE`` ... ``COMMIT``.

        One hop to the driver's thread for the whole transaction (``write`` pays one per
        statement), so the writer is held for the SQL alone. ``work`` is synchronous and must
        only touch the connection; whatever it raises rolls everything back and is raised here.
        A cancelled caller waits for the transaction to end (committed whole or rolled back),
        then gets its cancellation.
        """
        async with self._write_lock:
            if self._writer.in_transaction:
                log.error("sqlite_writer_left_in_transaction")
                await _control(self._writer, "ROLLBACK")
            running = _submit(self._writer, partial(_in_transaction, self._writer._conn, work))
            return await _to_the_end(running)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self.read() as conn:
            return list(await conn.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def read_now(self, sql: str, params: Params = ()) -> list[Row]:
        """A bounded read (rows by a unique key) run on the event-loop thread, no thread hop.

        Only for statements whose cost is bounded by a few index probes: ``WHERE id = ?``,
        ``WHERE id IN (<= 500 ids>)``, a small table. A listing, a search or a count goes
        through :meth:`fetch_all`. Sees the last committed state, like every reader. When the
        database is locked past the short busy timeout (a WAL restart), or for a ``:memory:``
        database, the read goes to a pooled reader instead.
        """
        rows = self._on_loop(sql, params)
        return rows if rows is not None else await self.fetch_all(sql, params)

    async def read_bounded(
        self, sql: str, params: Params = (), *, steps: int = LOOP_STEP_BUDGET
    ) -> list[Row]:
        """A read that is *usually* cheap (a page walking its sort's index): tried on the
        event-loop thread with a budget of ``steps`` SQLite VM steps (~10 ns each), and handed
        to a pooled reader when it runs past it (a selective filter that makes the walk long,
        a deep offset), or when the database is locked, or for ``:memory:``.

        The loop is held for at most the budget, whatever the query's plan; a statement that
        is interrupted has read nothing it returns, and the pooled reader runs it whole. The
        same read (SQL and parameters) asked again soon after goes to the pooled reader at
        once (:data:`LONG_READ_MEMORY`).
        """
        conn = self._loop_reader
        if conn is None:
            return await self.fetch_all(sql, params)
        key = None if isinstance(params, dict) else (sql, *params)
        now = asyncio.get_running_loop().time()
        if key is not None and self._long_reads.contains(key, now):
            return await self.fetch_all(sql, params)
        budget = _StepBudget(steps)
        conn.set_progress_handler(budget, _STEP_GRAIN)
        try:
            rows = self._on_loop(sql, params)
        finally:
            conn.set_progress_handler(None, 0)
        if rows is not None:
            return rows
        if key is not None and budget.calls_left < 0:  # it spent the budget (not a lock)
            self._long_reads.add(key, now + LONG_READ_MEMORY, now)
        return await self.fetch_all(sql, params)

    async def read_one_now(self, sql: str, params: Params = ()) -> Row | None:
        """:meth:`read_now` for at most one row."""
        rows = await self.read_now(sql, params)
        return rows[0] if rows else None

    async def execute_script(self, statements: Iterable[str]) -> None:
        async with self.write() as conn:
            for statement in statements:
                await conn.execute(statement)

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.execute_fetchall("SELECT 1")

    def _on_loop(self, sql: str, params: Params) -> list[Row] | None:
        """The rows, read on the event-loop thread's connection; None when a pooled reader must
        read them (no such connection, for ``:memory:``, or one of :data:`_GIVE_WAY`).

        A statement that fails leaves the sqlite3 module's cached copy of it marked in use
        when ``sqlite3_reset`` reports the failure (seen with CPython 3.11.7): every later run
        of that SQL then prepares it afresh (+50 us for a listing's page). Closing the cursor
        resets it again, which clears the mark, but only while the cursor still holds the
        statement: when it failed in ``execute``. A failure after the first row (the fetch
        drops the statement) is healed by renewing the connection
        (:meth:`_renew_loop_reader_soon`).
        """
        conn = self._loop_reader
        if conn is None:
            return None
        cursor = conn.cursor()
        try:
            cursor.execute(sql, params)
        except sqlite3.OperationalError as exc:
            cursor.close()
            if not _gives_way(exc):
                raise
            return None
        try:
            return cursor.fetchall()
        except sqlite3.OperationalError as exc:
            self._renew_loop_reader_soon()
            if not _gives_way(exc):
                raise
            return None

    def _renew_loop_reader_soon(self) -> None:
        """Replace the loop connection (and its statement cache) with a fresh one, opened on a
        worker thread; at most once per :data:`LOOP_READER_RENEWAL_INTERVAL`. Meanwhile the
        old one keeps serving: only the spoiled statement is slower."""
        loop = asyncio.get_running_loop()
        if self._renewal is not None or self._closed or loop.time() < self._renewable_at:
            return
        self._renewal = loop.create_task(self._renew_loop_reader())

    async def _renew_loop_reader(self) -> None:
        assert self._loop_path is not None
        try:
            fresh = await asyncio.to_thread(_connect_on_loop, self._loop_path)
        except sqlite3.Error:
            log.warning("sqlite_loop_reader_renewal_failed", exc_info=True)
            fresh = None
        finally:
            self._renewal = None
            self._renewable_at = asyncio.get_running_loop().time() + LOOP_READER_RENEWAL_INTERVAL
        if fresh is None:
            return
        if self._closed:
            fresh.close()
            return
        old, self._loop_reader = self._loop_reader, fresh
        if old is not None:
            old.close()

    async def close(self) -> None:
        self._closed = True
        if self._renewal is not None:
            await asyncio.shield(self._renewal)  # a connection being opened is closed by it
        if self._loop_reader is not None:
            self._loop_reader.close()
            self._loop_reader = None
        for conn in [self._writer, *self._all_readers]:
            await conn.close()


# Why a read on the loop thread gives way to a pooled reader: locked past the short busy
# timeout (a WAL restart), or read_bounded's budget of VM steps spent.
_GIVE_WAY = ("locked", "busy", "interrupted")


def _gives_way(exc: sqlite3.OperationalError) -> bool:
    return any(reason in str(exc) for reason in _GIVE_WAY)


def _in_transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
    except BaseException:
        if conn.in_transaction:  # some errors end the transaction themselves
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a failed COMMIT (SQLITE_BUSY...) leaves it open
            conn.execute("ROLLBACK")
        raise
    return result


def _submit(conn: aiosqlite.Connection, job: Callable[[], T]) -> asyncio.Future[T]:
    """Queue ``job`` on aiosqlite's own queue of work for the connection's thread (what every
    ``execute`` uses): the future of its result, set by that thread when ``job`` returns.

    This is what aiosqlite's ``_execute`` does, without the task a coroutine would need to
    run it: the job is queued at once instead of on the loop's next turn.
    """
    if not conn._running or not conn._connection:
        raise ValueError("Connection closed")  # as aiosqlite's own calls answer
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    conn._tx.put_nowait((future, job))
    return future


async def _to_the_end(running: asyncio.Future[T]) -> T:
    """Await work that runs on the driver's thread regardless, even if this task is cancelled
    meanwhile: its result (or error) once it is done, then the cancellation if one came."""
    cancelled: asyncio.CancelledError | None = None
    while not running.done():
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError as exc:
            if running.cancelled():  # the work itself was cancelled (loop closing)
                raise
            cancelled = exc
        except Exception:
            break
    result = running.result()
    if cancelled is not None:
        raise cancelled
    return result


async def _control(conn: aiosqlite.Connection, sql: str) -> asyncio.CancelledError | None:
    """Run a transaction-control statement to its end, even if this task is cancelled.

    Returns the cancellation that arrived meanwhile (the caller re-raises it once the
    connection is consistent), or None. The statement's own error is raised.
    """
    statement = asyncio.ensure_future(conn.execute(sql))
    cancelled: asyncio.CancelledError | None = None
    while not statement.done():
        try:
            await asyncio.shield(statement)
        except asyncio.CancelledError as exc:
            if statement.cancelled():  # the statement itself was cancelled (loop closing)
                raise
            cancelled = exc  # wait on: the statement runs on its thread regardless
        except Exception:
            break
    statement.result()  # the statement's own error, if it failed
    return cancelled


async def _abort(conn: aiosqlite.Connection) -> None:
    """Roll back whatever transaction the connection has open (shielded; errors logged)."""
    try:
        if conn.in_transaction:
            await _control(conn, "ROLLBACK")
    except Exception:
        log.exception("sqlite_rollback_failed")


def to_db_time(moment: datetime) -> str:
    """UTC ISO 8601 with a fixed width, so text order is time order.

    ``isoformat`` with microseconds always writes them (and a four-digit year), so the text of
    a UTC time is ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``, at half the cost of ``strftime``. A
    time already in UTC (every ``clock.utc_now``) skips the conversion.
    """
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


# Times as ISO 8601 text, JSON as text (store/_rows.py).
CODEC = RowCodec(time=from_db_time, json=json.loads)
