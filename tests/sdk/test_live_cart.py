"""``client.cart`` against the real app."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

import shopkit
from shopkit import AsyncShopClient
from tests.sdk.conftest import Catalog

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_a_new_users_cart_is_empty(shopper: AsyncShopClient) -> None:
    cart = await shopper.cart.get()
    assert cart.items == [] and cart.total_items == 0
    assert cart.subtotal == Decimal("0") and str(cart.subtotal) == "0.00"


async def test_add_update_remove_clear(shopper: AsyncShopClient, catalog: Catalog) -> None:
    hp, cable = catalog.headphones, catalog.cable
    cart = await shopper.cart.add_item(hp.id)
    assert [(i.product_id, i.quantity) for i in cart.items] == [(hp.id, 1)]
    cart = await shopper.cart.add_item(hp.id, quantity=1)  # adds to the line
    line = cart.items[0]
    assert line.quantity == 2 and line.name == hp.name and line.price == Decimal("99.99")
    assert line.item_total == Decimal("199.98") and str(line.item_total) == "199.98"
    cart = await shopper.cart.add_item(cable.id, quantity=3)
    assert cart.total_items == 5
    assert cart.subtotal == Decimal("229.95") and str(cart.subtotal) == "229.95"

    cart = await shopper.cart.update_item(cable.id, quantity=1)
    assert {i.product_id: i.quantity for i in cart.items} == {hp.id: 2, cable.id: 1}
    cart = await shopper.cart.update_item(cable.id, quantity=0)  # 0 removes the line
    assert [i.product_id for i in cart.items] == [hp.id]
    cart = await shopper.cart.remove_item(hp.id)
    assert cart.items == []
    cart = await shopper.cart.remove_item(hp.id)  # not there: still fine
    assert cart.items == []

    await shopper.cart.add_item(cable.id)
    assert await shopper.cart.clear() is None
    assert (await shopper.cart.get()).items == []


async def test_refusals(shopper: AsyncShopClient, anon: AsyncShopClient, catalog: Catalog) -> None:
    with pytest.raises(shopkit.InsufficientStockError) as info:
        await shopper.cart.add_item(catalog.headphones.id, quantity=6)  # stock 5
    assert info.value.status_code == 409
    with pytest.raises(shopkit.InsufficientStockError):
        await shopper.cart.add_item(catalog.speaker.id)  # out of stock
    with pytest.raises(shopkit.ProductNotFoundError):
        await shopper.cart.add_item("0" * 24)
    with pytest.raises(shopkit.NotFoundError):
        await shopper.cart.update_item(catalog.cable.id, quantity=2)  # no such line
    with pytest.raises(shopkit.UnprocessableEntityError):
        await shopper.cart.add_item(catalog.cable.id, quantity=0)
    with pytest.raises(shopkit.AuthenticationError):
        await anon.cart.get()


async def test_concurrent_adds_both_count(shopper: AsyncShopClient, catalog: Catalog) -> None:
    await asyncio.gather(*(shopper.cart.add_item(catalog.cable.id) for _ in range(5)))
    cart = await shopper.cart.get()
    assert cart.items[0].quantity == 5
