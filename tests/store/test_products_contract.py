"""The product and category repository contract, on every store backend."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shopkit_server import pagination
from shopkit_server.ids import new_id
from shopkit_server.products.models import (
    BulkRow,
    Category,
    Product,
    ProductDraft,
    ProductQuery,
    ProductSort,
    ReserveStatus,
    StockLine,
)
from shopkit_server.products.repository import MissingCategory
from shopkit_server.store import Store
from shopkit_server.store.base import DuplicateKeyError

T0 = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
REQUIRED = frozenset({"name", "price", "category", "sku"})


async def make_category(store: Store, name: str, parent: Category | None = None) -> Category:
    category = Category(
        id=new_id(),
        name=name,
        slug=name.lower().replace(" ", "-"),
        parent_id=parent.id if parent else None,
        sort_order=0,
    )
    await store.categories.create(category)
    return category


def product(
    name: str = "Mug",
    *,
    price: str = "9.99",
    category: str = "Kitchen",
    sku: str | None = None,
    tags: list[str] | None = None,
    stock: int = 10,
    active: bool = True,
    featured: bool = False,
    at: datetime = T0,
    description: str = "",
) -> Product:
    draft = ProductDraft(
        sku=sku,
        name=name,
        description=description,
        price=Decimal(price),
        category=category,
        tags=tags or [],
        stock=stock,
        is_active=active,
        is_featured=featured,
    )
    return draft.new_product(new_id(), at)


@pytest.fixture
async def kitchen(store: Store) -> Category:
    return await make_category(store, "Kitchen")


async def names(store: Store, query: ProductQuery, offset: int = 0, limit: int = 50) -> list[str]:
    page = await store.products.find(query, offset=offset, limit=limit)
    return [p.name for p in page.items]


# -- products ------------------------------------------------------------------------------


async def test_create_and_get_round_trip_exactly(store: Store, kitchen: Category) -> None:
    mug = product(price="0.10", sku="MUG-1", tags=["ceramic", "gift"], description="A mug.")
    await store.products.create(mug)
    assert await store.products.get(mug.id) == mug
    assert str((await store.products.get(mug.id)).price) == "0.10"  # type: ignore[union-attr]
    big = product("Big", price="9999999999.99")
    await store.products.create(big)
    assert (await store.products.get(big.id)).price == Decimal("9999999999.99")  # type: ignore[union-attr]


async def test_missing_product_is_none(store: Store, kitchen: Category) -> None:
    assert await store.products.get(new_id()) is None


async def test_get_many_returns_what_exists_in_one_call(store: Store, kitchen: Category) -> None:
    a, b = product("A"), product("B", active=False)
    await store.products.create(a)
    await store.products.create(b)
    found = await store.products.get_many([a.id, b.id, new_id()])
    assert sorted(p.name for p in found) == ["A", "B"]


async def test_sku_is_unique_but_optional(store: Store, kitchen: Category) -> None:
    await store.products.create(product("A", sku="SKU-1"))
    with pytest.raises(DuplicateKeyError) as caught:
        await store.products.create(product("B", sku="SKU-1"))
    assert caught.value.field == "sku"
    await store.products.create(product("C"))
    await store.products.create(product("D"))  # many products without a sku
    assert await store.products.count() == 3


async def test_update_changes_only_given_fields(store: Store, kitchen: Category) -> None:
    mug = product(sku="MUG-1", tags=["a"])
    await store.products.create(mug)
    later = T0 + timedelta(seconds=5)
    updated = await store.products.update(
        mug.id, {"price": Decimal("12.50"), "tags": ["b", "c"], "sku": None}, later
    )
    assert updated is not None
    assert (updated.price, updated.tags, updated.sku) == (Decimal("12.50"), ["b", "c"], None)
    assert (updated.name, updated.stock, updated.created_at) == ("Mug", 10, T0)
    assert updated.updated_at == later
    assert await store.products.get(mug.id) == updated
    # The cleared sku is free again, and a taken one is refused.
    await store.products.create(product("Other", sku="MUG-1"))
    with pytest.raises(DuplicateKeyError):
        await store.products.update(mug.id, {"sku": "MUG-1"}, later)
    assert await store.products.update(new_id(), {"name": "x"}, later) is None


async def test_tags_filter_follows_updates(store: Store, kitchen: Category) -> None:
    mug = product(tags=["red"])
    await store.products.create(mug)
    await store.products.update(mug.id, {"tags": ["blue"]}, T0)
    assert await names(store, ProductQuery(tags=("red",))) == []
    assert await names(store, ProductQuery(tags=("blue",))) == ["Mug"]


# -- listing -------------------------------------------------------------------------------


@pytest.fixture
async def shelf(store: Store, kitchen: Category) -> None:
    garden = await make_category(store, "Garden")
    rows = [
        product("Cup", price="5.00", tags=["ceramic"], stock=0, at=T0),
        product(
            "bowl",
            price="12.00",
            tags=["ceramic", "gift"],
            featured=True,
            at=T0 + timedelta(seconds=1),
        ),
        product("Apron", price="20.00", tags=["gift"], at=T0 + timedelta(seconds=2)),
        product("Rake", price="30.00", category=garden.name, at=T0 + timedelta(seconds=3)),
        product("Hidden", price="1.00", active=False, at=T0 + timedelta(seconds=4)),
    ]
    for row in rows:
        await store.products.create(row)


@pytest.mark.usefixtures("shelf")
@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (ProductSort.NEWEST, ["Rake", "Apron", "bowl", "Cup"]),
        (ProductSort.PRICE_ASC, ["Cup", "bowl", "Apron", "Rake"]),
        (ProductSort.PRICE_DESC, ["Rake", "Apron", "bowl", "Cup"]),
        (ProductSort.NAME, ["Apron", "bowl", "Cup", "Rake"]),  # case-insensitive
    ],
)
async def test_sorts(store: Store, sort: ProductSort, expected: list[str]) -> None:
    assert await names(store, ProductQuery(sort=sort)) == expected


@pytest.mark.usefixtures("shelf")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (ProductQuery(categories=("Kitchen",)), {"Cup", "bowl", "Apron"}),
        (ProductQuery(categories=("Kitchen", "Garden")), {"Cup", "bowl", "Apron", "Rake"}),
        (ProductQuery(categories=()), set()),
        (ProductQuery(min_price=Decimal("12.00")), {"bowl", "Apron", "Rake"}),
        (ProductQuery(max_price=Decimal("12.00")), {"Cup", "bowl"}),
        (ProductQuery(min_price=Decimal("12"), max_price=Decimal("20")), {"bowl", "Apron"}),
        (ProductQuery(tags=("gift",)), {"bowl", "Apron"}),
        (ProductQuery(tags=("ceramic", "gift")), {"bowl"}),
        (ProductQuery(tags=("ceramic", "nope")), set()),
        (ProductQuery(in_stock=True), {"bowl", "Apron", "Rake"}),
        (ProductQuery(in_stock=False), {"Cup"}),
        (ProductQuery(featured=True), {"bowl"}),
        (ProductQuery(featured=False), {"Cup", "Apron", "Rake"}),
        (ProductQuery(include_inactive=True), {"Cup", "bowl", "Apron", "Rake", "Hidden"}),
        (ProductQuery(categories=("Kitchen",), tags=("gift",), in_stock=True), {"bowl", "Apron"}),
    ],
)
async def test_filters(store: Store, query: ProductQuery, expected: set[str]) -> None:
    page = await store.products.find(query, offset=0, limit=50)
    assert {p.name for p in page.items} == expected
    assert page.total == len(expected)


async def test_pages_never_overlap_or_skip_on_ties(store: Store, kitchen: Category) -> None:
    for i in range(23):  # same price, same instant: only the tie-break orders them
        await store.products.create(product(f"P{i:02}", price="5.00"))
    for sort in (ProductSort.PRICE_ASC, ProductSort.PRICE_DESC, ProductSort.NEWEST):
        seen: list[str] = []
        for offset in range(0, 30, 5):
            page = await store.products.find(ProductQuery(sort=sort), offset=offset, limit=5)
            assert page.total == 23
            seen.extend(p.name for p in page.items)
        assert sorted(seen) == [f"P{i:02}" for i in range(23)], sort


# -- bulk ----------------------------------------------------------------------------------


async def test_upsert_many_creates_and_updates_only_given_fields(
    store: Store, kitchen: Category
) -> None:
    existing = product("Old name", sku="S-1", stock=7, tags=["keep"])
    await store.products.create(existing)
    rows = [
        BulkRow(
            0,
            ProductDraft(name="New name", price=Decimal("3.00"), category="Kitchen", sku="S-1"),
            REQUIRED,
        ),
        BulkRow(
            1,
            ProductDraft(
                name="Fresh", price=Decimal("4.00"), category="Kitchen", sku="S-2", stock=3
            ),
            REQUIRED | {"stock"},
        ),
        BulkRow(
            2,
            ProductDraft(name="No sku", price=Decimal("5.00"), category="Kitchen"),
            frozenset({"name", "price", "category"}),
        ),
    ]
    later = T0 + timedelta(minutes=1)
    outcome = await store.products.upsert_many(rows, later)
    assert (outcome.created, outcome.updated, outcome.failed) == ([1, 2], [0], [])
    updated = await store.products.get(existing.id)
    assert updated is not None
    assert (updated.name, updated.price, updated.stock, updated.tags) == (
        "New name",
        Decimal("3.00"),
        7,
        ["keep"],
    )
    assert (updated.created_at, updated.updated_at) == (T0, later)
    listed = {
        p.name: p
        for p in (
            await store.products.find(ProductQuery(sort=ProductSort.NAME), offset=0, limit=10)
        ).items
    }
    assert listed["Fresh"].stock == 3 and listed["Fresh"].sku == "S-2"
    assert listed["No sku"].sku is None and listed["No sku"].is_active
    assert await store.products.count() == 3


async def test_upsert_many_leaves_rows_equal_to_the_stored_product_unwritten(
    store: Store, kitchen: Category
) -> None:
    existing = product("Same", sku="S-1", stock=7, tags=["a", "b"])
    await store.products.create(existing)
    fields = REQUIRED | {"stock", "tags"}
    same = ProductDraft(
        name="Same", price=existing.price, category="Kitchen", sku="S-1", stock=7, tags=["a", "b"]
    )
    later = T0 + timedelta(minutes=1)
    outcome = await store.products.upsert_many([BulkRow(0, same, fields)], later)
    assert (outcome.created, outcome.updated, outcome.unchanged, outcome.failed) == (
        [],
        [],
        [0],
        [],
    )
    stored = await store.products.get(existing.id)
    assert stored is not None and stored.updated_at == T0  # not written at all

    # Tags in another order are a change; so is any other carried field.
    reordered = dataclasses.replace(same, tags=["b", "a"])
    outcome = await store.products.upsert_many([BulkRow(0, reordered, fields)], later)
    assert (outcome.updated, outcome.unchanged) == ([0], [])
    stored = await store.products.get(existing.id)
    assert stored is not None and stored.tags == ["b", "a"] and stored.updated_at == later


# -- stock ---------------------------------------------------------------------------------


async def stock_of(store: Store, product_id: str) -> int:
    found = await store.products.get(product_id)
    assert found is not None
    return found.stock


async def test_reserve_takes_every_line_or_none(store: Store, kitchen: Category) -> None:
    a, b = product("A", stock=5), product("B", stock=1)
    await store.products.create(a)
    await store.products.create(b)
    lines = sorted([StockLine(a.id, 2), StockLine(b.id, 2)], key=lambda line: line.product_id)
    outcome = await store.products.reserve("r1", lines)
    assert outcome.status is ReserveStatus.INSUFFICIENT and outcome.short == [b.id]
    assert (await stock_of(store, a.id), await stock_of(store, b.id)) == (5, 1)
    # Nothing was held, so the same id may try again once there is stock.
    await store.products.update(b.id, {"stock": 2}, T0)
    assert (await store.products.reserve("r1", lines)).status is ReserveStatus.RESERVED
    assert (await stock_of(store, a.id), await stock_of(store, b.id)) == (3, 0)


async def test_insufficient_names_every_short_product(store: Store, kitchen: Category) -> None:
    a, b, gone = product("A", stock=1), product("B", stock=9, active=False), new_id()
    await store.products.create(a)
    await store.products.create(b)
    lines = sorted(
        [StockLine(a.id, 2), StockLine(b.id, 1), StockLine(gone, 1), StockLine("not-an-id", 1)],
        key=lambda line: line.product_id,
    )
    outcome = await store.products.reserve("r", lines)
    assert outcome.status is ReserveStatus.INSUFFICIENT
    assert sorted(outcome.short) == sorted([a.id, b.id, gone, "not-an-id"])
    assert (await stock_of(store, a.id), await stock_of(store, b.id)) == (1, 9)


async def test_reserve_is_idempotent_and_release_gives_back_once(
    store: Store, kitchen: Category
) -> None:
    a = product("A", stock=5)
    await store.products.create(a)
    lines = [StockLine(a.id, 2)]
    assert (await store.products.reserve("r", lines)).status is ReserveStatus.RESERVED
    assert (await store.products.reserve("r", lines)).status is ReserveStatus.ALREADY_HELD
    assert (await store.products.reserve("r", [StockLine(a.id, 1)])).status is (
        ReserveStatus.MISMATCH
    )
    assert await stock_of(store, a.id) == 3
    await asyncio.gather(*(store.products.release("r") for _ in range(5)))
    assert await stock_of(store, a.id) == 5
    # A released id is spent: a late retry of the reserve takes nothing.
    assert (await store.products.reserve("r", lines)).status is ReserveStatus.RELEASED
    assert await stock_of(store, a.id) == 5


async def test_release_of_an_unknown_id_blocks_a_late_reserve(
    store: Store, kitchen: Category
) -> None:
    a = product("A", stock=5)
    await store.products.create(a)
    await store.products.release("never-reserved")
    outcome = await store.products.reserve("never-reserved", [StockLine(a.id, 1)])
    assert outcome.status is ReserveStatus.RELEASED
    assert await stock_of(store, a.id) == 5


async def test_racing_reservations_never_oversell(store: Store, kitchen: Category) -> None:
    a = product("Last units", stock=5)
    await store.products.create(a)
    outcomes = await asyncio.gather(
        *(store.products.reserve(f"order-{i}", [StockLine(a.id, 1)]) for i in range(50))
    )
    won = [o for o in outcomes if o.status is ReserveStatus.RESERVED]
    assert len(won) == 5
    assert all(o.status is ReserveStatus.INSUFFICIENT for o in outcomes if o not in won)
    assert await stock_of(store, a.id) == 0


async def test_racing_multi_line_reservations_stay_consistent(
    store: Store, kitchen: Category
) -> None:
    a, b = product("A", stock=6), product("B", stock=3)
    await store.products.create(a)
    await store.products.create(b)
    lines = sorted([StockLine(a.id, 1), StockLine(b.id, 1)], key=lambda line: line.product_id)
    outcomes = await asyncio.gather(*(store.products.reserve(f"r{i}", lines) for i in range(20)))
    won = sum(o.status is ReserveStatus.RESERVED for o in outcomes)
    assert 1 <= won <= 3
    # Whatever the interleaving, each winner took exactly one of each and nobody else any.
    assert await stock_of(store, a.id) == 6 - won
    assert await stock_of(store, b.id) == 3 - won


# -- categories ----------------------------------------------------------------------------


async def test_category_lookup_subtree_and_uniqueness(store: Store) -> None:
    root = await make_category(store, "Electronics")
    audio = await make_category(store, "Audio", root)
    await make_category(store, "Headphones", audio)
    await make_category(store, "Garden")
    assert await store.categories.get(audio.id) == audio
    assert await store.categories.get_by_slug("audio") == audio
    assert await store.categories.get(new_id()) is None
    assert sorted(await store.categories.subtree_names("electronics")) == [
        "Audio",
        "Electronics",
        "Headphones",
    ]
    assert sorted(await store.categories.subtree_names("audio")) == ["Audio", "Headphones"]
    assert await store.categories.subtree_names("nope") == []
    with pytest.raises(DuplicateKeyError):
        await make_category(store, "Audio")
    assert len(await store.categories.list_all()) == 4


async def test_rename_reaches_the_products(store: Store, kitchen: Category) -> None:
    mug = product()
    await store.products.create(mug)
    renamed = Category(
        id=kitchen.id, name="Cookware", slug="cookware", parent_id=None, sort_order=3
    )
    await store.categories.update(renamed)
    assert await store.categories.get(kitchen.id) == renamed
    assert (await store.products.get(mug.id)).category == "Cookware"  # type: ignore[union-attr]
    assert await names(store, ProductQuery(categories=("Cookware",))) == ["Mug"]


async def test_delete_refuses_a_category_in_use(store: Store, kitchen: Category) -> None:
    child = await make_category(store, "Knives", kitchen)
    mug = product(active=False)  # an inactive product still holds its category
    await store.products.create(mug)
    usage = await store.categories.delete_if_unused(kitchen.id)
    assert (usage.products, usage.children) == (1, 1)
    assert await store.categories.get(kitchen.id) is not None
    usage = await store.categories.delete_if_unused(child.id)
    assert not usage.in_use
    assert await store.categories.get(child.id) is None


# -- full-text search ----------------------------------------------------------------------


@pytest.mark.mongo_real_only
async def test_search_ranks_name_matches_first(store: Store, kitchen: Category) -> None:
    await store.products.create(product("Travel mug", description="Keeps coffee hot."))
    await store.products.create(product("Kettle", description="Boils water for your tea."))
    await store.products.create(product("Coffee grinder", description="Burr grinder."))
    await store.products.create(product("Hidden coffee", active=False))
    query = ProductQuery(search_terms=("coffee",), sort=ProductSort.RELEVANCE)
    page = await store.products.find(query, offset=0, limit=10)
    assert [p.name for p in page.items] == ["Coffee grinder", "Travel mug"]
    assert page.total == 2


@pytest.mark.mongo_real_only
async def test_search_sees_updates(store: Store, kitchen: Category) -> None:
    mug = product("Plain mug")
    await store.products.create(mug)
    await store.products.update(mug.id, {"name": "Espresso cup"}, T0)
    assert await names(store, ProductQuery(search_terms=("espresso",))) == ["Espresso cup"]
    assert await names(store, ProductQuery(search_terms=("plain",))) == []


@pytest.mark.mongo_real_only
async def test_search_folds_accents_and_stems_both_ways(store: Store, kitchen: Category) -> None:
    await store.products.create(product("Café crème", description="Strong."))
    await store.products.create(product("Cafe table"))
    await store.products.create(product("Shoe rack"))
    both = {"Café crème", "Cafe table"}
    assert set(await names(store, ProductQuery(search_terms=("cafe",)))) == both
    assert set(await names(store, ProductQuery(search_terms=("café",)))) == both
    assert await names(store, ProductQuery(search_terms=("creme",))) == ["Café crème"]
    # "shoes" is not a prefix of "shoe": only stemming can find it.
    assert await names(store, ProductQuery(search_terms=("shoes",))) == ["Shoe rack"]


async def test_a_product_in_a_missing_category_is_refused(store: Store, kitchen: Category) -> None:
    with pytest.raises(MissingCategory):
        await store.products.create(product(category="Gone"))
    mug = product()
    await store.products.create(mug)
    with pytest.raises(MissingCategory):
        await store.products.update(mug.id, {"category": "Gone"}, T0)
    assert (await store.products.get(mug.id)).category == "Kitchen"  # type: ignore[union-attr]
    assert await store.products.count() == 1


async def _five_mugs_and_a_plate(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    for i in range(5):
        await store.products.create(
            product(f"Mug {i}", at=T0 + timedelta(seconds=i), description="a mug")
        )
    await store.products.create(product("Plate", price="20.00", description="a plate"))


async def _capped_at_three(
    store: Store, queries: dict[str, ProductQuery], *, beyond: bool = True
) -> None:
    for label, query in queries.items():
        first = await store.products.find(query, offset=0, limit=2)
        assert (first.total, first.total_exact, len(first.items)) == (3, False, 2), label
        if not beyond:
            continue
        # Past the capped total, the page is still served.
        last = await store.products.find(query, offset=4, limit=2)
        assert last.items and (last.total, last.total_exact) == (3, False), label
        beyond = await store.products.find(query, offset=10, limit=2)
        assert (list(beyond.items), beyond.total, beyond.total_exact) == ([], 3, False), label


async def test_listing_totals_are_counted_up_to_the_cap(
    store: Store, kitchen: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _five_mugs_and_a_plate(store, monkeypatch)
    await _capped_at_three(
        store,
        {
            "listing": ProductQuery(),
            "category by price": ProductQuery(categories=("Kitchen",), sort=ProductSort.PRICE_ASC),
            "price range": ProductQuery(max_price=Decimal("9.99"), sort=ProductSort.NAME),
        },
    )
    exact = await store.products.find(ProductQuery(min_price=Decimal("10")), offset=0, limit=2)
    assert (exact.total, exact.total_exact) == (1, True)
    monkeypatch.setattr(pagination, "COUNT_CAP", 6)
    whole = await store.products.find(ProductQuery(), offset=0, limit=10)
    assert (whole.total, whole.total_exact, len(whole.items)) == (6, True, 6)


@pytest.mark.mongo_real_only
async def test_search_totals_are_counted_up_to_the_cap(
    store: Store, kitchen: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _five_mugs_and_a_plate(store, monkeypatch)
    await _capped_at_three(
        store,
        {"by price": ProductQuery(search_terms=("mug",), sort=ProductSort.PRICE_ASC)},
    )
    # By relevance a store may rank only the cap's worth of matches (SQLite does).
    await _capped_at_three(
        store,
        {"by relevance": ProductQuery(search_terms=("mug",), sort=ProductSort.RELEVANCE)},
        beyond=False,
    )
    exact = await store.products.find(ProductQuery(search_terms=("plate",)), offset=0, limit=2)
    assert (exact.total, exact.total_exact) == (1, True)
