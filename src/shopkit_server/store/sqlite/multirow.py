"""Many rows into one table in as few ``INSERT ... VALUES (...), (...)`` statements as SQLite
takes, instead of ``executemany`` (one statement per row).

Each statement that may abort half-way (one with triggers, as ``products`` has) runs in a
statement transaction, and opening or closing one makes the full-text index (FTS5) flush its
pending terms: with ``executemany`` that was one index segment per row, then merges of them,
most of a bulk import's SQLite work. One statement of many rows flushes once. The rows, their
order (so their ``seq``), the triggers' work and the errors (``IntegrityError``, with the whole
statement undone) are those of the rows inserted one by one.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from typing import Any

import aiosqlite


@functools.cache
def max_variables() -> int:
    """The host parameters one statement may bind: SQLite's compile-time limit (999 before
    3.32, 32766 since; builds may set their own), which no connection of ours lowers."""
    with closing(sqlite3.connect(":memory:")) as probe:
        return probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


@functools.lru_cache(maxsize=64)
def values_sql(head: str, width: int, rows: int) -> str:
    """``head`` (``INSERT INTO t (a, b)``) with ``rows`` groups of ``width`` placeholders."""
    group = "(" + ", ".join("?" * width) + ")"
    return f"{head} VALUES {', '.join([group] * rows)}"


def rows_per_statement(width: int) -> int:
    return max(1, max_variables() // width)


async def insert_rows(
    conn: aiosqlite.Connection, head: str, width: int, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples of ``width`` values, in order) with the fewest statements."""
    step = rows_per_statement(width)
    for start in range(0, len(rows), step):
        part = rows[start : start + step]
        await conn.execute(
            values_sql(head, width, len(part)), list(itertools.chain.from_iterable(part))
        )
