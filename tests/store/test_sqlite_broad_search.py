"""SQLite: a search matching more than the count's cap ranks only its newest matches."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shopkit_server import pagination
from shopkit_server.products.models import ProductQuery, ProductSort
from shopkit_server.store import Store
from shopkit_server.store.sqlite import product_sql
from shopkit_server.store.sqlite.db import Database
from shopkit_server.store.sqlite.product_sql import build_find
from tests.store.test_products_contract import T0, kitchen, product

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
__all__ = ["kitchen"]


async def test_a_broad_search_ranks_the_newest_matches_and_pages_through_them(
    store: Store, kitchen: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The oldest product is the best match (the word three times in its name) ...
    await store.products.create(product("mug mug mug", at=T0))
    for i in range(6):
        await store.products.create(product(f"Mug {i}", at=T0 + timedelta(seconds=i + 1)))
    query = ProductQuery(search_terms=("mug",), sort=ProductSort.RELEVANCE)
    everything = await store.products.find(query, offset=0, limit=10)
    assert everything.total_exact and everything.items[0].name == "mug mug mug"
    # ... but past a count cap of 5, only the 4 newest matches are ranked.
    monkeypatch.setattr(pagination, "COUNT_CAP", 5)
    monkeypatch.setattr(product_sql, "RANKED_WINDOW", 4)
    first = await store.products.find(query, offset=0, limit=3)
    assert (first.total, first.total_exact) == (5, False)
    assert first.next_key is not None
    rest = await store.products.find(query, offset=0, limit=3, after=first.next_key)
    names = [p.name for p in [*first.items, *rest.items]]
    assert sorted(names) == ["Mug 2", "Mug 3", "Mug 4", "Mug 5"]
    assert rest.next_key is None
    # Filters apply before the window: the 4 newest matches that pass them are ranked.
    await store.products.create(product("Mug new", at=T0 + timedelta(days=1), stock=0))
    in_stock = ProductQuery(search_terms=("mug",), sort=ProductSort.RELEVANCE, in_stock=True)
    page = await store.products.find(in_stock, offset=0, limit=10)
    assert page.total_exact is False
    assert sorted(p.name for p in page.items) == ["Mug 2", "Mug 3", "Mug 4", "Mug 5"]
    cheap = ProductQuery(search_terms=("mug",), max_price=Decimal("1"))
    assert (await store.products.find(cheap, offset=0, limit=10)).items == []


async def test_the_ranked_set_starts_from_the_full_text_index(
    store: Store, settings: object
) -> None:
    sql = build_find(
        ProductQuery(search_terms=("mug",), sort=ProductSort.RELEVANCE),
        offset=0,
        limit=20,
        ranked=10_000,
    )
    db = await Database.open(settings.sqlite_path, readers=1)  # type: ignore[attr-defined]
    try:
        steps = [
            row[3] for row in await db.fetch_all("EXPLAIN QUERY PLAN " + sql.page, sql.page_params)
        ]
    finally:
        await db.close()
    assert any(step.startswith("SCAN products_fts VIRTUAL TABLE") for step in steps), steps
    assert any("SEARCH p USING INTEGER PRIMARY KEY" in step for step in steps), steps
