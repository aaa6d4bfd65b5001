"""Listing totals on SQLite: remembered per filter, exact after every write, from any process.

Each test opens two stores on one database file, as two shopkit processes would (no Redis, no
announcements between them): one reads (and remembers its counts), the other writes. After
every kind of write a listing's count depends on, the reader's next page must carry the exact
total at once, and a page read with no write in between must be answered from the memo (its
count not run again).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shopkit_server.pagination import PageParams, PageResult
from shopkit_server.products.models import (
    CategoryDraft,
    Product,
    ProductDraft,
    ProductOption,
    ProductQuery,
    StockLine,
    VariantDraft,
    option_key,
)
from shopkit_server.products.service import ProductService
from shopkit_server.settings import Settings
from shopkit_server.store import Store, open_store
from shopkit_server.store.sqlite.db import Database
from shopkit_server.store.sqlite.listing_counts import CountMemo
from shopkit_server.store.sqlite.products import SqliteProductRepository


@dataclass
class Pair:
    reader: ProductService
    writer: ProductService
    reader_store: Store
    counted: list[int]  # one entry per count the reader ran (a memo miss)

    async def total(self, query: ProductQuery, page: PageParams | None = None) -> int:
        result: PageResult[Product] = await self.reader.list_products(query, page or PageParams())
        assert result.total_exact
        return result.total

    async def exact(self, query: ProductQuery) -> int:
        """The total counted afresh, memo aside: what the page must say."""
        db: Database = self.reader_store.products._db  # type: ignore[attr-defined]
        fresh = ProductService(
            products=SqliteProductRepository(db), categories=self.reader_store.categories
        )
        return (await fresh.list_products(query, PageParams())).total


@pytest.fixture
async def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Pair]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'shared.db'}")
    first, second = await open_store(settings), await open_store(settings)
    counted: list[int] = []
    original = CountMemo.put

    def counting(self: CountMemo, key: Any, revision: int, total: int) -> None:
        counted.append(total)
        original(self, key, revision, total)

    monkeypatch.setattr(CountMemo, "put", counting)
    reader = ProductService(products=first.products, categories=first.categories)
    writer = ProductService(products=second.products, categories=second.categories)
    await writer.categories.create(CategoryDraft(name="Audio"))
    for i in range(5):
        await writer.create_product(
            ProductDraft(name=f"Speaker {i}", category="Audio", price=Decimal("10"), stock=2)
        )
    yield Pair(reader, writer, first, counted)
    await first.close()
    await second.close()


AUDIO = ProductQuery(category="Audio")


async def _ids(service: ProductService) -> list[str]:
    page = await service.list_products(ProductQuery(include_inactive=True), PageParams())
    return [product.id for product in page.items]


async def test_a_repeated_page_uses_the_memo_and_a_write_elsewhere_is_seen_at_once(
    pair: Pair,
) -> None:
    assert await pair.total(AUDIO) == 5
    assert pair.counted == [5]
    assert await pair.total(AUDIO) == 5
    assert pair.counted == [5]  # no write in between: not counted again
    await pair.writer.create_product(
        ProductDraft(name="Speaker 5", category="Audio", price=Decimal("10"), stock=1)
    )
    assert await pair.total(AUDIO) == 6  # the other store's insert, without any announcement
    assert pair.counted == [5, 6]
    product_id = (await _ids(pair.writer))[0]
    await pair.writer.delete_product(product_id)  # soft delete: is_active = 0
    assert await pair.total(AUDIO) == 5
    await pair.writer.update_product(product_id, {"is_active": True})
    assert await pair.total(AUDIO) == 6


async def test_filters_follow_price_tags_and_featured_edits(pair: Pair) -> None:
    cheap = ProductQuery(category="Audio", max_price=Decimal("15"))
    tagged = ProductQuery(category="Audio", tags=("outdoor",))
    featured = ProductQuery(category="Audio", featured=True)
    assert [await pair.total(q) for q in (cheap, tagged, featured)] == [5, 0, 0]
    product_id = (await _ids(pair.writer))[0]
    await pair.writer.update_product(
        product_id, {"price": Decimal("20"), "tags": ["outdoor"], "is_featured": True}
    )
    assert [await pair.total(q) for q in (cheap, tagged, featured)] == [4, 1, 1]
    for query in (cheap, tagged, featured):
        assert await pair.total(query) == await pair.exact(query)


async def test_stock_that_reaches_zero_moves_in_stock_totals(pair: Pair) -> None:
    in_stock = ProductQuery(category="Audio", in_stock=True)
    sold_out = ProductQuery(category="Audio", in_stock=False)
    assert (await pair.total(in_stock), await pair.total(sold_out)) == (5, 0)
    product_id = (await _ids(pair.writer))[0]
    revision = await _revision(pair)
    await pair.writer.reserve_stock("r1", [StockLine(product_id=product_id, quantity=1)])
    # 2 -> 1: still in stock, so no listing's count can have moved; the memo stays valid.
    assert await _revision(pair) == revision
    assert (await pair.total(in_stock), await pair.total(sold_out)) == (5, 0)
    before = len(pair.counted)
    await pair.writer.reserve_stock("r2", [StockLine(product_id=product_id, quantity=1)])
    assert await _revision(pair) > revision  # 1 -> 0: hidden from in_stock=true
    assert (await pair.total(in_stock), await pair.total(sold_out)) == (4, 1)
    assert len(pair.counted) == before + 2
    await pair.writer.release_stock("r2")  # back to 1: in stock again
    assert (await pair.total(in_stock), await pair.total(sold_out)) == (5, 0)


async def test_option_filters_follow_variant_stock(pair: Pair) -> None:
    shirts = [
        await pair.writer.create_product(
            ProductDraft(
                name=f"Shirt {i}",
                category="Audio",
                price=Decimal("10"),
                options=[ProductOption(name="Size", values=["M", "L"])],
                variants=[
                    VariantDraft(option_values={"Size": "M"}, stock=1),
                    VariantDraft(option_values={"Size": "L"}, stock=3),
                ],
            )
        )
        for i in range(2)
    ]
    medium = ProductQuery(category="Audio", options=(option_key("Size", "M"),))
    assert await pair.total(medium) == 2
    variant = next(v for v in shirts[0].variants if v.option_values == {"Size": "M"})
    await pair.writer.reserve_stock(
        "r1", [StockLine(product_id=shirts[0].id, quantity=1, variant_id=variant.id)]
    )
    # The shirt stays in stock (L has 3) but its size M is sold out.
    assert await pair.total(medium) == 1 == await pair.exact(medium)
    assert await pair.total(ProductQuery(category="Audio", in_stock=True)) == 7


async def test_a_rename_of_the_category_moves_its_totals(pair: Pair) -> None:
    assert await pair.total(AUDIO) == 5
    category = (await pair.writer.categories.list_all())[0]
    await pair.writer.categories.update(category.id, {"name": "Sound"})
    assert await pair.total(AUDIO) == 0  # no such category any more
    assert await pair.total(ProductQuery(category="Sound")) == 5


async def test_past_the_last_page_the_total_is_still_exact(pair: Pair) -> None:
    far = PageParams(page=5, page_size=2)
    assert await pair.total(AUDIO, far) == 5
    await pair.writer.create_product(
        ProductDraft(name="Speaker 5", category="Audio", price=Decimal("10"), stock=1)
    )
    assert await pair.total(AUDIO, far) == 6
    assert await pair.total(AUDIO) == 6


async def test_the_memo_is_bounded() -> None:
    memo = CountMemo(max_entries=2)
    for i in range(3):
        memo.put((f"q{i}", ()), 1, i)
    assert len(memo) == 2
    assert memo.get(("q0", ())) is None
    assert memo.get(("q2", ())) == (1, 2)


async def test_a_bounded_read_past_its_budget_goes_to_a_pooled_reader(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "budget.db", readers=1)
    try:
        await db.execute_script(
            [
                "CREATE TABLE t (k INTEGER PRIMARY KEY)",
                "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n "
                "WHERE k < 5000) INSERT INTO t (k) SELECT k FROM n",
            ]
        )
        pooled: list[str] = []
        original = db.fetch_all

        async def recording(sql: str, params: Any = ()) -> Any:
            pooled.append(sql)
            return await original(sql, params)

        db.fetch_all = recording  # type: ignore[method-assign]
        short = await db.read_bounded("SELECT k FROM t WHERE k <= 3")
        assert [row[0] for row in short] == [1, 2, 3] and pooled == []
        long = await db.read_bounded("SELECT COUNT(*) FROM t WHERE k % 7 = 0", steps=1_000)
        assert long[0][0] == 5000 // 7  # the whole answer, from the pooled reader
        assert pooled == ["SELECT COUNT(*) FROM t WHERE k % 7 = 0"]
        # The budget is each run's: SQLite counts a prepared statement's steps over all its
        # runs (and the statement is reused), so a cheap read repeated crosses the budget's
        # multiples again and again; none of those runs may give way.
        pooled.clear()
        for _ in range(300):
            again = await db.read_bounded("SELECT k FROM t WHERE k <= 3", steps=1_000)
            assert len(again) == 3
        assert pooled == []
        loop_reader: Any = db._loop_reader
        # The budget was lifted afterwards: the loop reader runs a long statement whole again.
        assert loop_reader.execute("SELECT COUNT(*) FROM t WHERE k % 7 = 0").fetchone()[0] == 714
    finally:
        await db.close()


async def _revision(pair: Pair) -> int:
    row = await pair.reader_store.products._db.read_one_now(  # type: ignore[attr-defined]
        "SELECT n FROM catalog_revision"
    )
    assert row is not None
    return int(row[0])
