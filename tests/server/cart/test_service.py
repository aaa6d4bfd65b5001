"""Cart service logic against in-memory products and the real cart store (every backend)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

import pytest

from shopkit_server.cart.errors import CartItemNotFound, CartLineLimit, LineQuantityLimit
from shopkit_server.cart.models import MAX_CART_LINES
from shopkit_server.cart.service import CartService
from shopkit_server.errors import UpstreamUnavailable
from shopkit_server.ids import new_id
from shopkit_server.products.errors import InsufficientStock, ProductNotFound
from shopkit_server.products.models import Product
from shopkit_server.store import Store
from tests.server.cart.fakes import FakeCatalog, make_product


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def service(store: Store, catalog: FakeCatalog) -> CartService:
    return CartService(carts=store.carts, products=catalog)


async def test_the_cart_shows_current_catalog_prices(
    service: CartService, catalog: FakeCatalog
) -> None:
    mug = catalog.add(make_product("9.99", name="Mug"))
    tea = catalog.add(make_product("4.50", name="Tea"))
    user = new_id()
    await service.add_item(user, mug.id, 2)
    await service.add_item(user, tea.id, 1)
    catalog.update(mug.id, price=Decimal("7.49"), name="Mug (sale)")

    catalog.batch_calls = 0
    cart = await service.get_cart(user)
    assert catalog.batch_calls == 1  # one batched read, however many lines
    line = cart.line(mug.id)
    assert line is not None
    assert (line.name, line.price, line.item_total) == (
        "Mug (sale)",
        Decimal("7.49"),
        Decimal("14.98"),
    )
    assert cart.subtotal == Decimal("19.48")
    assert cart.total_items == 3
    assert all(item.available for item in cart.items)
    # The stored snapshot is untouched by a read; checkout re-reads the catalog itself.
    stored = await service.carts.get(user)
    assert stored.line(mug.id) is not None
    assert stored.line(mug.id).price == Decimal("9.99")  # type: ignore[union-attr]


async def test_lines_the_catalog_cannot_fill_are_flagged(
    service: CartService, catalog: FakeCatalog
) -> None:
    gone = catalog.add(make_product("3.00", name="Gone"))
    scarce = catalog.add(make_product("5.00", stock=10, name="Scarce"))
    user = new_id()
    await service.add_item(user, gone.id, 1)
    await service.add_item(user, scarce.id, 4)
    catalog.update(gone.id, is_active=False, price=Decimal("99.00"))
    catalog.update(scarce.id, stock=3)
    cart = await service.get_cart(user)
    gone_line, scarce_line = cart.line(gone.id), cart.line(scarce.id)
    assert gone_line is not None and scarce_line is not None
    assert (gone_line.available, gone_line.price) == (False, Decimal("3.00"))  # last known
    assert scarce_line.available is False


async def test_adding_past_stock_is_insufficient_stock(
    service: CartService, catalog: FakeCatalog
) -> None:
    product = catalog.add(make_product(stock=5))
    user = new_id()
    await service.add_item(user, product.id, 3)
    with pytest.raises(InsufficientStock) as caught:
        await service.add_item(user, product.id, 3)
    assert caught.value.product_ids == [product.id]
    assert (await service.get_cart(user)).total_items == 3
    out = catalog.add(make_product(stock=0))
    with pytest.raises(InsufficientStock):
        await service.add_item(user, out.id, 1)


async def test_a_line_holds_at_most_99(service: CartService, catalog: FakeCatalog) -> None:
    product = catalog.add(make_product(stock=1000))
    user = new_id()
    await service.add_item(user, product.id, 99)
    with pytest.raises(LineQuantityLimit):
        await service.add_item(user, product.id, 1)


async def test_unknown_inactive_and_malformed_products_are_not_found(
    service: CartService, catalog: FakeCatalog
) -> None:
    inactive = catalog.add(make_product(active=False))
    for product_id in (new_id(), inactive.id, "not-an-id"):
        with pytest.raises(ProductNotFound):
            await service.add_item(new_id(), product_id, 1)


async def test_set_quantity_rules(service: CartService, catalog: FakeCatalog) -> None:
    product = catalog.add(make_product(stock=8))
    user = new_id()
    with pytest.raises(CartItemNotFound):
        await service.set_quantity(user, product.id, 2)
    with pytest.raises(CartItemNotFound):
        await service.set_quantity(user, product.id, 0)
    with pytest.raises(CartItemNotFound):
        await service.set_quantity(user, "bad-id", 1)
    await service.add_item(user, product.id, 1)
    assert (await service.set_quantity(user, product.id, 8)).total_items == 8
    with pytest.raises(InsufficientStock):
        await service.set_quantity(user, product.id, 9)
    assert (await service.set_quantity(user, product.id, 0)).items == []


async def test_concurrent_adds_through_the_service_all_count(
    service: CartService, catalog: FakeCatalog
) -> None:
    product = catalog.add(make_product(stock=50))
    user = new_id()
    await asyncio.gather(*(service.add_item(user, product.id, 1) for _ in range(25)))
    assert (await service.get_cart(user)).line(product.id).quantity == 25  # type: ignore[union-attr]


class _FailingFrom:
    """The catalog, answering its first ``ok_calls`` calls and failing every later one."""

    def __init__(self, inner: FakeCatalog, ok_calls: int) -> None:
        self._inner = inner
        self._ok_calls = ok_calls
        self.calls = 0

    async def get_products(self, product_ids: Sequence[str]) -> dict[str, Product]:
        self.calls += 1
        if self.calls > self._ok_calls:
            raise UpstreamUnavailable()
        return await self._inner.get_products(product_ids)


@pytest.mark.parametrize("ok_calls", [0, 1])
@pytest.mark.parametrize("change", ["add", "set", "remove"])
async def test_a_change_answered_as_failed_was_not_applied(
    store: Store, catalog: FakeCatalog, ok_calls: int, change: str
) -> None:
    kept, added = catalog.add(make_product(name="Kept")), catalog.add(make_product(name="New"))
    user = new_id()
    await CartService(carts=store.carts, products=catalog).add_item(user, kept.id, 1)
    service = CartService(carts=store.carts, products=_FailingFrom(catalog, ok_calls))
    calls = {
        "add": (lambda: service.add_item(user, added.id, 2), {kept.id: 1, added.id: 2}),
        "set": (lambda: service.set_quantity(user, kept.id, 3), {kept.id: 3}),
        "remove": (lambda: service.remove_item(user, kept.id), {}),
    }
    run, expected = calls[change]

    async def lines() -> dict[str, int]:
        return {i.product_id: i.quantity for i in (await store.carts.get(user)).items}

    if ok_calls == 0:  # the catalog is down from the start: refused, and nothing changed
        with pytest.raises(UpstreamUnavailable):
            await run()
        assert await lines() == {kept.id: 1}
    else:  # the catalog fails only after its first answer: the change is applied and answered
        cart = await run()
        assert await lines() == expected
        assert {i.product_id: i.quantity for i in cart.items} == expected


async def test_a_cart_holds_at_most_100_lines(service: CartService, catalog: FakeCatalog) -> None:
    user = new_id()
    products = [catalog.add(make_product()) for _ in range(MAX_CART_LINES + 1)]
    assert MAX_CART_LINES == 100
    for product in products[:-1]:
        await service.add_item(user, product.id, 1)
    with pytest.raises(CartLineLimit) as refused:
        await service.add_item(user, products[-1].id, 1)
    assert (refused.value.status_code, refused.value.code) == (409, "cart_line_limit")
    assert len((await service.carts.get(user)).items) == MAX_CART_LINES
    cart = await service.add_item(user, products[0].id, 1)  # more of a line it holds: fine
    assert cart.total_items == MAX_CART_LINES + 1
