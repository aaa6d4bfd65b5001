"""SQLite bulk upsert: new rows go in with one statement; a refused row is still found alone."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from shopkit_server.products.models import BulkOutcome, BulkRow, ProductDraft, ProductQuery
from shopkit_server.store import Store
from shopkit_server.store.sqlite import multirow
from tests.store.test_products_contract import REQUIRED, T0, kitchen, make_category

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
__all__ = ["kitchen"]


def _row(index: int, sku: str, category: str = "Kitchen") -> BulkRow:
    draft = ProductDraft(name=f"Row {index}", price=Decimal("2.50"), category=category, sku=sku)
    return BulkRow(index, draft, REQUIRED)


async def _statements(store: Store, work: Callable[[], Awaitable[object]]) -> list[str]:
    """The first word of every statement ``work`` runs on the writer (``executemany X`` for
    those sent with executemany)."""
    statements: list[str] = []
    db = store.products._db  # type: ignore[attr-defined]
    real_write = db.write

    def write() -> object:
        context = real_write()

        class Traced:
            async def __aenter__(self) -> object:
                conn = await context.__aenter__()
                execute, executemany = conn.execute, conn.executemany

                async def traced_execute(sql: str, *args: object) -> object:
                    statements.append(sql.split()[0])
                    return await execute(sql, *args)

                async def traced_executemany(sql: str, *args: object) -> object:
                    statements.append("executemany " + sql.split()[0])
                    return await executemany(sql, *args)

                conn.execute, conn.executemany = traced_execute, traced_executemany
                self.conn, self.originals = conn, (execute, executemany)
                return conn

            async def __aexit__(self, *exc: object) -> object:
                self.conn.execute, self.conn.executemany = self.originals
                return await context.__aexit__(*exc)

        return Traced()

    db.write = write
    try:
        await work()
    finally:
        db.write = real_write
    return statements


async def test_new_rows_are_inserted_in_one_statement(store: Store, kitchen: object) -> None:
    rows = [_row(i, f"N-{i}") for i in range(50)]
    outcomes: list[BulkOutcome] = []

    async def work() -> None:
        outcomes.append(await store.products.upsert_many(rows, T0))

    statements = await _statements(store, work)
    assert outcomes[0].created == list(range(50)) and outcomes[0].failed == []
    # One multi-row statement for the products, one for their (default) variants: no
    # statement per row (each would make FTS5 flush its pending terms).
    assert statements.count("INSERT") == 2
    assert not [s for s in statements if s.startswith("executemany")]
    # No savepoint: inside one, FTS5 flushes its pending terms at every statement.
    assert "SAVEPOINT" not in statements
    assert (await store.products.find(ProductQuery(), offset=0, limit=1)).total == 50


async def test_rows_past_the_variable_limit_take_several_statements(
    store: Store, kitchen: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A SQLite built with a small limit of bound values per statement: 4 products (18 values
    # each) or 8 variants (9 each) per statement.
    monkeypatch.setattr(multirow, "max_variables", lambda: 4 * 18 + 1)
    rows = [_row(i, f"M-{i}") for i in range(10)]
    outcomes: list[BulkOutcome] = []

    async def work() -> None:
        outcomes.append(await store.products.upsert_many(rows, T0))

    statements = await _statements(store, work)
    assert outcomes[0].created == list(range(10))
    assert statements.count("INSERT") == 3 + 2  # products 4 + 4 + 2, variants 8 + 2
    page = await store.products.find(ProductQuery(), offset=0, limit=20)
    assert sorted(p.sku or "" for p in page.items) == sorted(f"M-{i}" for i in range(10))
    assert all(len(p.variants) == 1 and p.variants[0].sku == p.sku for p in page.items)
    # The full-text index holds every row (its triggers ran for each).
    found = await store.products.find(ProductQuery(search_terms=("row",)), offset=0, limit=20)
    assert found.total == 10


def test_values_sql_repeats_the_placeholder_group(store: Store) -> None:
    assert multirow.values_sql("INSERT INTO t (a, b)", 2, 3) == (
        "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)"
    )
    assert multirow.rows_per_statement(10**9) == 1  # a row too wide still goes, alone
    # The probe's limit is the store's connections' own.
    reader = store.products._db._loop_reader  # type: ignore[attr-defined]
    assert multirow.max_variables() == reader.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


async def test_a_refused_new_row_is_reported_and_the_others_are_written(
    store: Store, kitchen: object
) -> None:
    await make_category(store, "Garden")
    rows = [_row(0, "A"), _row(1, "B", category="Gone"), _row(2, "C", category="Garden")]
    outcome = await store.products.upsert_many(rows, T0)
    assert outcome.created == [0, 2]
    assert [(f.index, f.sku) for f in outcome.failed] == [(1, "B")]
    assert "does not exist" in outcome.failed[0].detail
    page = await store.products.find(ProductQuery(), offset=0, limit=10)
    assert sorted(p.sku or "" for p in page.items) == ["A", "C"]


async def test_a_refused_update_redoes_the_batch_row_by_row_without_duplicates(
    store: Store, kitchen: object
) -> None:
    await make_category(store, "Garden")
    first = await store.products.upsert_many([_row(0, "OLD-1"), _row(1, "OLD-2")], T0)
    assert first.created == [0, 1]
    # New rows first, then an update the database refuses (its category is gone), then a good
    # update: the first attempt is rolled back whole and the batch redone row by row.
    rows = [
        _row(0, "NEW-1"),
        _row(1, "NEW-2", category="Garden"),
        BulkRow(
            2,
            ProductDraft(name="Moved", price=Decimal("3"), category="Gone", sku="OLD-1"),
            REQUIRED,
        ),
        BulkRow(
            3,
            ProductDraft(name="Renamed", price=Decimal("2.50"), category="Kitchen", sku="OLD-2"),
            REQUIRED,
        ),
    ]
    outcome = await store.products.upsert_many(rows, T0)
    assert outcome.created == [0, 1] and outcome.updated == [3]
    assert [(f.index, f.sku) for f in outcome.failed] == [(2, "OLD-1")]
    assert "does not exist" in outcome.failed[0].detail
    page = await store.products.find(ProductQuery(), offset=0, limit=10)
    assert sorted((p.sku or "", p.name, p.category) for p in page.items) == [
        ("NEW-1", "Row 0", "Kitchen"),
        ("NEW-2", "Row 1", "Garden"),
        ("OLD-1", "Row 0", "Kitchen"),  # untouched: nothing of the refused row was kept
        ("OLD-2", "Renamed", "Kitchen"),
    ]
    assert all(len(p.variants) == 1 for p in page.items)  # no variant inserted twice
