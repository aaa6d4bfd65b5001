"""Every filter and sort the API offers has an index on PostgreSQL.

With sequential scans priced out (``enable_seqscan = off``), the planner still falls back to one
when no index can serve a query; so a plan without ``Seq Scan on products`` proves an index
exists for that filter and sort.
"""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest

from shopkit_server.products.models import ProductQuery, ProductSort
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from shopkit_server.store.postgres.product_sql import build_find

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


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: repr(q)[13:80])
async def test_listing_and_search_never_scan_the_table(
    store: Store, settings: Settings, query: ProductQuery
) -> None:
    sql = build_find(query)
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


@pytest.mark.parametrize(
    "where",
    ["", "WHERE user_id = $1", "WHERE status = $1", "WHERE user_id = $1 AND status = $2"],
)
async def test_order_listings_never_scan_the_table(
    store: Store, settings: Settings, where: str
) -> None:
    args = {"": (), "WHERE user_id = $1": ("u",), "WHERE status = $1": ("pending",)}.get(
        where, ("u", "pending")
    )
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
