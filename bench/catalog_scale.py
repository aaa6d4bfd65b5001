"""Catalog listings at scale: page 1 and its exact total on a generated SQLite catalog.

    uv run python bench/catalog_scale.py [products]       # default 100000; prints a table

Products go in through ProductService.import_products (the code behind POST /products/bulk),
500 per transaction, with 12 common words as names, descriptions and tags, so text and tag
filters match a large share of the catalog (a pessimistic case). For each listing it prints
the mean time of the page query and of the count over 5 runs, and SQLite's query plan: every
plan must SEARCH an index, never SCAN the products table
(tests/server/products/test_query_plans.py checks the same plans on every run).

Recorded on the development machine (2 cores, SQLite 3.40, 100 000 products, load 27 s):

| listing | page 1 | total |
| --- | ---: | ---: |
| newest / price_asc / price_desc / name | 0.2-0.4 ms | 3-5 ms |
| category (one leaf) / + price_asc | 0.2 ms | 0.4 ms |
| category subtree (21 categories) | 0.3 ms | 7 ms |
| price range, featured, in_stock | 0.2-1.2 ms | 0.1-3 ms |
| two tags (each on 25% of products) | 25 ms | 41 ms |
| search, one word matching 78% of products | 100 ms | 27 ms |
| search, three words | 5 ms | 0.4 ms |

Totals are exact, so a listing pays for counting its matches (from an index, never the
table); relevance search pays bm25 for every match before it can return the best twenty.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from shopkit_server.products.models import (
    BulkRow,
    CategoryDraft,
    ProductDraft,
    ProductQuery,
    ProductSort,
)
from shopkit_server.products.service import ProductService
from shopkit_server.settings import Settings
from shopkit_server.store import open_store
from shopkit_server.store.sqlite.db import Database
from shopkit_server.store.sqlite.product_sql import build_find

WORDS = "wireless bluetooth speaker headphones cable charger lamp mug kettle shoe jacket tent"
FIELDS = frozenset({"name", "price", "category", "sku", "tags", "stock", "is_featured",
                    "description"})
LEAVES = [f"Leaf {i}" for i in range(20)]
CASES = {
    "newest": ProductQuery(),
    "price_asc": ProductQuery(sort=ProductSort.PRICE_ASC),
    "price_desc": ProductQuery(sort=ProductSort.PRICE_DESC),
    "name": ProductQuery(sort=ProductSort.NAME),
    "category (one leaf)": ProductQuery(categories=("Leaf 3",)),
    "category subtree": ProductQuery(categories=("Electronics", *LEAVES)),
    "category + price_asc": ProductQuery(categories=("Leaf 3",), sort=ProductSort.PRICE_ASC),
    "price range": ProductQuery(min_price=Decimal("10"), max_price=Decimal("12")),
    "featured": ProductQuery(featured=True),
    "in_stock": ProductQuery(in_stock=True),
    "two tags": ProductQuery(tags=("mug", "tent")),
    "search one word": ProductQuery(search_terms=("wireless",), sort=ProductSort.RELEVANCE),
    "search three words": ProductQuery(search_terms=("lamp", "mug", "12"),
                                       sort=ProductSort.RELEVANCE),
}


async def load(service: ProductService, count: int) -> float:
    root = await service.categories.create(CategoryDraft("Electronics"))
    for leaf in LEAVES:
        await service.categories.create(CategoryDraft(leaf, parent_id=root.id))
    words = WORDS.split()
    rnd = random.Random(1)
    started = time.perf_counter()
    for start in range(0, count, 500):
        rows = [
            BulkRow(i - start, ProductDraft(
                name=f"{rnd.choice(words).title()} {rnd.choice(words)} {i}",
                price=Decimal(rnd.randint(100, 100_000)) / 100, category=rnd.choice(LEAVES),
                sku=f"S{i}", tags=rnd.sample(words, 3), stock=rnd.randint(0, 50),
                is_featured=rnd.random() < 0.05, description=" ".join(rnd.choices(words, k=12)),
            ), FIELDS)
            for i in range(start, min(count, start + 500))
        ]
        report = await service.import_products(rows)
        assert not report.failed, report.failed[:3]
    return time.perf_counter() - started


async def timed(db: Database, sql: str, params: list[object]) -> float:
    started = time.perf_counter()
    for _ in range(5):
        await db.fetch_all(sql, params)
    return (time.perf_counter() - started) / 5 * 1000


async def main(count: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="shopkit-scale-"))
    path = work / "catalog.db"
    settings = Settings(_env_file=None, database_url=f"sqlite:///{path}",  # type: ignore[call-arg]
                        jwt_secret_key="scale-" + "s" * 40)
    store = await open_store(settings)
    try:
        seconds = await load(ProductService(products=store.products,
                                            categories=store.categories), count)
        print(f"loaded {count} products in {seconds:.1f} s\n")
        db = await Database.open(path, readers=1)
        print("| listing | page 1 (ms) | total (ms) | page plan |")
        print("| --- | ---: | ---: | --- |")
        for label, query in CASES.items():
            sql = build_find(query, offset=0, limit=20)
            plan = await db.fetch_all("EXPLAIN QUERY PLAN " + sql.page, sql.page_params)
            page = await timed(db, sql.page, sql.page_params)
            total = await timed(db, sql.count, sql.count_params)
            steps = " / ".join(row[3] for row in plan)
            print(f"| {label} | {page:.2f} | {total:.2f} | {steps} |")
        await db.close()
    finally:
        await store.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
