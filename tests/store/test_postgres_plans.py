"""Every filter and sort the API offers has an index on PostgreSQL.

With sequential scans priced out (``enable_seqscan = off``), the planner still falls back to one
when no index can serve a query; so a plan without ``Seq Scan on products`` proves an index
exists for that filter and sort.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest

from shopkit_server.pagination import Key
from shopkit_server.products.models import ProductQuery, ProductSort
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from shopkit_server.store.postgres.product_sql import build_find, encode_key

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

QUERIES = [
    ProductQuery(sort=sort)
    for sort in (
        ProductSort.NEWEST,
        ProductSort.PRICE_ASC,
        ProductSort.PRICE_DESC,
        ProductSort.NAME,
    )
] + [
    ProductQuery(categories=("Audio", "Phones")),
    ProductQuery(categories=("Audio",), sort=ProductSort.PRICE_ASC),
    ProductQuery(categories=("Audio",), sort=ProductSort.NAME),
    ProductQuery(min_price=Decimal("10"), max_price=Decimal("50"), sort=ProductSort.PRICE_ASC),
    ProductQuery(tags=("wireless", "sale")),
    ProductQuery(in_stock=True),
    ProductQuery(in_stock=False),
    ProductQuery(featured=True),
    ProductQuery(search_terms=("wireless", "headph"), sort=ProductSort.RELEVANCE),
    ProductQuery(search_terms=("coffee",), categories=("Kitchen",), sort=ProductSort.PRICE_DESC),
]


_KEY_VALUES = {
    ProductSort.NEWEST: datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
    ProductSort.PRICE_ASC: Decimal("19.99"),
    ProductSort.PRICE_DESC: Decimal("19.99"),
    ProductSort.NAME: "headphones",
    ProductSort.RELEVANCE: 0.5,
}


def _key(query: ProductQuery) -> Key:
    """A cursor key as the store makes it for this query's (effective) sort."""
    sort = query.sort
    if sort is ProductSort.RELEVANCE and not query.search_terms:
        sort = ProductSort.NEWEST
    return encode_key(sort, _KEY_VALUES[sort], 1042)


def _walks_sort_index(query: ProductQuery) -> bool:
    """Filters that are equalities on a sort index's leading columns: there the cursor's key
    range must be part of the index condition. (Several categories, tags, stock or search pick
    their rows from another index first and sort them, for offsets and cursors alike.)"""
    return (
        not query.search_terms
        and not query.tags
        and query.in_stock is None
        and (query.categories is None or len(query.categories) == 1)
    )


@pytest.mark.parametrize("by_cursor", [False, True], ids=["offset", "cursor"])
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: repr(q)[13:80])
async def test_listing_and_search_never_scan_the_table(
    store: Store, settings: Settings, query: ProductQuery, by_cursor: bool
) -> None:
    """Cursor pages too: the key's range is served by the same index as the sort."""
    sql = build_find(query, after=_key(query) if by_cursor else None)
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            row[0]
            for row in await conn.fetch(f"EXPLAIN {sql.page}", *sql.page_params(limit=20, offset=0))
        )
    finally:
        await conn.close()
    assert "Seq Scan on products" not in plan, plan
    if by_cursor and _walks_sort_index(query):
        # The key's range is an index condition (a seek), not a filter over earlier pages.
        assert any("Index Cond" in line and "ROW(" in line for line in plan.splitlines()), plan


@pytest.mark.parametrize("by_cursor", [False, True], ids=["offset", "cursor"])
@pytest.mark.parametrize(
    "where",
    ["", "WHERE user_id = $1", "WHERE status = $1", "WHERE user_id = $1 AND status = $2"],
)
async def test_order_listings_never_scan_the_table(
    store: Store, settings: Settings, where: str, by_cursor: bool
) -> None:
    args: tuple[object, ...] = {
        "": (),
        "WHERE user_id = $1": ("u",),
        "WHERE status = $1": ("pending",),
    }.get(where, ("u", "pending"))
    if by_cursor:  # the keyset condition PostgresOrderRepository.list adds after a cursor
        n = len(args)
        keyset = f"(created_at, id) < (${n + 1}, ${n + 2})"
        where = f"{where} AND {keyset}" if where else f"WHERE {keyset}"
        args = (*args, datetime(2026, 5, 1, tzinfo=UTC), "665f1c2ab4d1e8a9c0f3b201")
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("SET enable_seqscan = off")
        rows = await conn.fetch(
            f"EXPLAIN SELECT id FROM orders {where} ORDER BY created_at DESC, id DESC LIMIT 20",
            *args,
        )
    finally:
        await conn.close()
    plan = "\n".join(row[0] for row in rows)
    assert "Seq Scan" not in plan, plan
    if by_cursor:
        assert any("Index Cond" in line and "ROW(" in line for line in plan.splitlines()), plan
