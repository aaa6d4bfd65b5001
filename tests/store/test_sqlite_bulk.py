"""SQLite bulk upsert: new rows go in with one statement; a refused row is still found alone."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopkit_server.products.models import BulkRow, ProductDraft, ProductQuery
from shopkit_server.store import Store
from tests.store.test_products_contract import REQUIRED, T0, kitchen, make_category

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
__all__ = ["kitchen"]


def _row(index: int, sku: str, category: str = "Kitchen") -> BulkRow:
    draft = ProductDraft(name=f"Row {index}", price=Decimal("2.50"), category=category, sku=sku)
    return BulkRow(index, draft, REQUIRED)


async def test_new_rows_are_inserted_in_one_statement(store: Store, kitchen: object) -> None:
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
        outcome = await store.products.upsert_many([_row(i, f"N-{i}") for i in range(50)], T0)
    finally:
        db.write = real_write
    assert outcome.created == list(range(50)) and outcome.failed == []
    # One statement for the products, one for their (default) variants.
    assert statements.count("executemany INSERT") == 2
    assert "INSERT" not in statements  # no row-by-row insert
    assert (await store.products.find(ProductQuery(), offset=0, limit=1)).total == 50


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
