"""ProductService: what the cart and order services rely on, and the pure helpers."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from shopkit._catalog import slugify
from shopkit_server.ids import new_id
from shopkit_server.pagination import PageParams
from shopkit_server.products.errors import (
    InsufficientStock,
    ProductNotFound,
    ReservationMismatch,
    ReservationReleased,
)
from shopkit_server.products.models import ProductDraft, ProductQuery, StockLine
from shopkit_server.products.service import ProductService, merge_lines, search_terms
from shopkit_server.store import Store
from tests.server.products.conftest import Catalog, build_catalog


class CountingRepository:
    """The store's product repository, counting the calls that reach it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        self.calls[name] += 1
        return getattr(self._inner, name)


@pytest.fixture
async def shop(store: Store) -> tuple[ProductService, Catalog, CountingRepository]:
    counting = CountingRepository(store.products)
    service = ProductService(products=counting, categories=store.categories)  # type: ignore[arg-type]
    catalog = await build_catalog(service)
    counting.calls.clear()
    return service, catalog, counting


async def stock(service: ProductService, product_id: str) -> int:
    return (await service.get_product(product_id, include_inactive=True)).stock


# -- reads the other services use ----------------------------------------------------------


async def test_get_product(shop: tuple[ProductService, Catalog, CountingRepository]) -> None:
    service, catalog, _ = shop
    assert (await service.get_product(catalog.id("Smartphone"))).price == Decimal("699.00")
    for missing in (new_id(), "bad id", catalog.id("Old Radio")):
        with pytest.raises(ProductNotFound):
            await service.get_product(missing)
    assert (await service.get_product(catalog.id("Old Radio"), include_inactive=True)).name == (
        "Old Radio"
    )


async def test_get_products_is_one_batched_call(
    shop: tuple[ProductService, Catalog, CountingRepository],
) -> None:
    service, catalog, counting = shop
    wanted = [catalog.id(name) for name in ("Smartphone", "Old Radio", "French Press")]
    found = await service.get_products([*wanted, wanted[0], new_id(), "malformed"])
    assert set(found) == set(wanted)
    assert found[wanted[1]].is_active is False  # inactive ones come back; callers decide
    assert counting.calls == Counter(get_many=1)
    assert await service.get_products(["malformed"]) == {}
    assert counting.calls == Counter(get_many=1)  # nothing to look up: no query at all


# -- stock ---------------------------------------------------------------------------------


async def test_fifty_racing_reservations_for_five_units(
    shop: tuple[ProductService, Catalog, CountingRepository],
) -> None:
    service, catalog, _ = shop
    pid = catalog.id("Wireless Headphones")  # 5 in stock

    async def buy(i: int) -> bool:
        try:
            await service.reserve_stock(f"order-{i}", [StockLine(pid, 1)])
        except InsufficientStock as error:
            assert error.product_ids == [pid]
            return False
        return True

    results = await asyncio.gather(*(buy(i) for i in range(50)))
    assert sum(results) == 5
    assert await stock(service, pid) == 0


async def test_reserve_all_or_nothing_and_name_every_short_product(
    shop: tuple[ProductService, Catalog, CountingRepository],
) -> None:
    service, catalog, _ = shop
    speaker, grinder, earbuds = (
        catalog.id(n) for n in ("Bluetooth Speaker", "Coffee Grinder", "Wired Earbuds")
    )
    hidden, missing = catalog.id("Old Radio"), new_id()
    with pytest.raises(InsufficientStock) as caught:
        await service.reserve_stock(
            "r",
            [
                StockLine(speaker, 2),
                StockLine(grinder, 8),
                StockLine(earbuds, 1),
                StockLine(hidden, 1),
                StockLine(missing, 1),
            ],
        )
    assert sorted(caught.value.product_ids) == sorted([grinder, earbuds, hidden, missing])
    assert caught.value.code == "insufficient_stock" and caught.value.status_code == 409
    assert (await stock(service, speaker), await stock(service, grinder)) == (3, 7)


async def test_duplicate_lines_are_added_up(
    shop: tuple[ProductService, Catalog, CountingRepository],
) -> None:
    service, catalog, _ = shop
    speaker = catalog.id("Bluetooth Speaker")  # 3 in stock
    with pytest.raises(InsufficientStock):
        await service.reserve_stock("r1", [StockLine(speaker, 2), StockLine(speaker, 2)])
    await service.reserve_stock("r2", [StockLine(speaker, 1), StockLine(speaker, 2)])
    assert await stock(service, speaker) == 0


async def test_reservations_are_idempotent_and_single_use(
    shop: tuple[ProductService, Catalog, CountingRepository],
) -> None:
    service, catalog, _ = shop
    pid = catalog.id("Smartphone")  # 10 in stock
    lines = [StockLine(pid, 4)]
    await asyncio.gather(*(service.reserve_stock("order-1", lines) for _ in range(5)))
    assert await stock(service, pid) == 6
    with pytest.raises(ReservationMismatch):
        await service.reserve_stock("order-1", [StockLine(pid, 5)])
    await asyncio.gather(*(service.release_stock("order-1") for _ in range(5)))
    assert await stock(service, pid) == 10
    with pytest.raises(ReservationReleased):
        await service.reserve_stock("order-1", lines)
    await service.release_stock("unknown")  # a no-op
    assert await stock(service, pid) == 10


async def test_release_gives_back_even_to_inactive_products(
    shop: tuple[ProductService, Catalog, CountingRepository],
) -> None:
    service, catalog, _ = shop
    pid = catalog.id("Phone Case")
    await service.reserve_stock("r", [StockLine(pid, 30)])
    await service.delete_product(pid)
    await service.release_stock("r")
    assert await stock(service, pid) == 100


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5])
async def test_bad_quantities_are_refused(
    shop: tuple[ProductService, Catalog, CountingRepository], quantity: Any
) -> None:
    service, catalog, _ = shop
    with pytest.raises(ValueError):
        await service.reserve_stock("r", [StockLine(catalog.id("Smartphone"), quantity)])


# -- writes --------------------------------------------------------------------------------


async def test_has_products_and_create(store: Store) -> None:
    service = ProductService(products=store.products, categories=store.categories)
    assert await service.has_products() is False
    catalog = await build_catalog(service)
    assert await service.has_products() is True
    page = await service.list_products(ProductQuery(category="coffee"), PageParams())
    assert {p.id for p in page.items} == {catalog.id("Coffee Grinder"), catalog.id("French Press")}
    made = await service.create_product(
        ProductDraft(name="Mug", price=Decimal("5"), category="KITCHEN")
    )
    assert made.category == "Kitchen" and made.created_at == made.updated_at


# -- helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Home & Garden", "home-garden"),
        ("  Men's  Shoes ", "men-s-shoes"),
        ("Café", "cafe"),
        ("TV/Video", "tv-video"),
        ("家电", "家电"),
        ("!!!", ""),
        ("home-garden", "home-garden"),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Wireless  HEADphones", ("wireless", "headphones")),
        ('"NEAR(a b)" OR *', ("near", "a", "b", "or")),
        ("***", ()),
        ("a a a", ("a",)),
        ("-x +y", ("x", "y")),
    ],
)
def test_search_terms_strip_all_syntax(text: str, terms: tuple[str, ...]) -> None:
    assert search_terms(text) == terms


def test_search_terms_are_bounded() -> None:
    assert len(search_terms(" ".join(f"w{i}" for i in range(50)))) == 16
    assert search_terms("x" * 300) == ("x" * 64,)


def test_merge_lines_sorts_and_adds_up() -> None:
    merged = merge_lines([StockLine("b", 1), StockLine("a", 2), StockLine("b", 3)])
    assert merged == [StockLine("a", 2), StockLine("b", 4)]
