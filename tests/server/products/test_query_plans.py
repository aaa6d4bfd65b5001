"""SQLite: every listing walks an index, so page 1 of a 100k catalog never scans the table.

Measured on a generated 100k-product catalog (bench/catalog_scale.py): page 1 of every sort
and filter below takes 0.2-1.5 ms and its exact total 0.1-10 ms (the total of an unfiltered
listing counts the (is_active, stock) index, not the table).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from shopkit_server.products.models import ProductQuery, ProductSort
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from shopkit_server.store.sqlite.db import Database
from shopkit_server.store.sqlite.product_sql import build_find

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

SORTED_BY_AN_INDEX = {
    "newest": ProductQuery(),
    "price_asc": ProductQuery(sort=ProductSort.PRICE_ASC),
    "price_desc": ProductQuery(sort=ProductSort.PRICE_DESC),
    "name": ProductQuery(sort=ProductSort.NAME),
    "category": ProductQuery(categories=("Audio",)),
    "category by price": ProductQuery(categories=("Audio",), sort=ProductSort.PRICE_ASC),
    "featured": ProductQuery(featured=True),
    "in stock": ProductQuery(in_stock=True),
}
FILTERED = {
    "subtree": ProductQuery(categories=("Electronics", "Audio", "Phones")),
    "price range": ProductQuery(min_price=Decimal("10"), max_price=Decimal("20")),
    "tags": ProductQuery(tags=("audio", "wireless")),
    "one tag": ProductQuery(tags=("audio",), sort=ProductSort.PRICE_DESC),
    "out of stock": ProductQuery(in_stock=False),
    "everything": ProductQuery(
        categories=("Audio",),
        min_price=Decimal("1"),
        tags=("audio",),
        in_stock=True,
        featured=False,
        sort=ProductSort.NAME,
    ),
}


@pytest.fixture
async def db(store: Store, settings: Settings) -> AsyncIterator[Database]:
    opened = await Database.open(settings.sqlite_path, readers=1)
    yield opened
    await opened.close()


async def plan(db: Database, sql: str, params: list[object]) -> list[str]:
    return [row[3] for row in await db.fetch_all("EXPLAIN QUERY PLAN " + sql, params)]


def scans_the_table(steps: list[str]) -> bool:
    return any(
        step.startswith(("SCAN p", "SCAN products")) and "products_fts" not in step
        for step in steps
    )


@pytest.mark.parametrize("label", list(SORTED_BY_AN_INDEX))
async def test_sorted_pages_read_an_index_in_order(db: Database, label: str) -> None:
    sql = build_find(SORTED_BY_AN_INDEX[label], offset=0, limit=20)
    steps = await plan(db, sql.page, sql.page_params)
    assert not scans_the_table(steps), steps
    assert not any("TEMP B-TREE" in step for step in steps), steps  # no sort of all matches
    count = await plan(db, sql.count, sql.count_params)
    assert not scans_the_table(count), count


@pytest.mark.parametrize("label", list(FILTERED))
async def test_filtered_pages_never_scan_the_table(db: Database, label: str) -> None:
    sql = build_find(FILTERED[label], offset=0, limit=20)
    for steps in (
        await plan(db, sql.page, sql.page_params),
        await plan(db, sql.count, sql.count_params),
    ):
        assert not scans_the_table(steps), steps


async def test_search_starts_from_the_full_text_index(db: Database) -> None:
    query = ProductQuery(
        search_terms=("wireless", "head"),
        sort=ProductSort.RELEVANCE,
        categories=("Audio",),
        in_stock=True,
    )
    sql = build_find(query, offset=0, limit=20)
    for steps in (
        await plan(db, sql.page, sql.page_params),
        await plan(db, sql.count, sql.count_params),
    ):
        # The capped count runs its rows as a co-routine it stops reading after the cap.
        steps = [s for s in steps if not s.startswith(("CO-ROUTINE", "SCAN (subquery"))]
        assert steps[0].startswith("SCAN products_fts VIRTUAL TABLE"), steps
        assert "SEARCH p USING INTEGER PRIMARY KEY" in steps[1], steps


_KEYS = {
    ProductSort.NEWEST: ("2026-01-01T00:00:00.000000+00:00", 10),
    ProductSort.PRICE_ASC: (1999, 10),
    ProductSort.PRICE_DESC: (1999, 10),
    ProductSort.NAME: ("lamp", 10),
}


@pytest.mark.parametrize("label", list(SORTED_BY_AN_INDEX))
async def test_cursor_pages_seek_into_the_sort_index(db: Database, label: str) -> None:
    """A page after a cursor key starts inside the index (a range), never a scan or a sort."""
    query = SORTED_BY_AN_INDEX[label]
    sql = build_find(query, offset=0, limit=20, after=_KEYS[query.sort])
    steps = await plan(db, sql.page, sql.page_params)
    assert not scans_the_table(steps), steps
    assert not any("TEMP B-TREE" in step for step in steps), steps
