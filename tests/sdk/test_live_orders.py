"""``client.orders`` against the real app: checkout, history, status flow, cancel."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import httpx
import pytest

import shopkit
from shopkit import AsyncShopClient
from shopkit.types import Address
from tests.conftest import PASSWORD
from tests.sdk.conftest import Catalog

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ADDRESS = Address(
    full_name="John Doe",
    address_line1="123 Main St",
    city="Karachi",
    postal_code="75500",
    country="PK",
    phone="+92 300 1234567",
)


async def _checkout(shop: AsyncShopClient, catalog: Catalog, **kwargs: str) -> shopkit.types.Order:
    await shop.cart.add_item(catalog.headphones.id, quantity=2)
    return await shop.orders.create(shipping_address=ADDRESS, **kwargs)


async def test_checkout_freezes_exact_money_and_clears_the_cart(
    shopper: AsyncShopClient, anon: AsyncShopClient, catalog: Catalog
) -> None:
    order = await _checkout(shopper, catalog)
    assert order.status == "pending"
    assert [(i.product_id, i.quantity, i.price) for i in order.items] == [
        (catalog.headphones.id, 2, Decimal("99.99"))
    ]
    # The seed's numbers, exactly: 199.98 + 5 % tax 10.00 = 209.98.
    assert (str(order.subtotal), str(order.tax), str(order.total)) == ("199.98", "10.00", "209.98")
    assert order.shipping_cost == Decimal("0.00")
    assert order.shipping_address.city == "Karachi" and order.shipping_address.address_line2 is None
    assert [h.status for h in order.status_history] == ["pending"]
    assert (await shopper.cart.get()).items == []
    assert (await anon.products.get(catalog.headphones.id)).stock == 3


async def test_same_idempotency_key_returns_the_same_order(
    shopper: AsyncShopClient, anon: AsyncShopClient, catalog: Catalog
) -> None:
    key = str(uuid.uuid4())
    first = await _checkout(shopper, catalog, idempotency_key=key)
    again = await shopper.orders.create(shipping_address=ADDRESS, idempotency_key=key)
    assert again.id == first.id
    assert (await anon.products.get(catalog.headphones.id)).stock == 3  # reserved once
    assert (await shopper.orders.list()).total == 1
    other_address = ADDRESS.model_copy(update={"city": "Lahore"})
    with pytest.raises(shopkit.IdempotencyKeyReusedError):
        await shopper.orders.create(shipping_address=other_address, idempotency_key=key)


async def test_racing_checkouts_with_one_key_make_one_order(
    shopper: AsyncShopClient, catalog: Catalog
) -> None:
    await shopper.cart.add_item(catalog.cable.id, quantity=2)
    key = str(uuid.uuid4())
    orders = await asyncio.gather(
        *(shopper.orders.create(shipping_address=ADDRESS, idempotency_key=key) for _ in range(4))
    )
    assert len({o.id for o in orders}) == 1


async def test_checkout_refusals(
    shopper: AsyncShopClient, admin_shop: AsyncShopClient, catalog: Catalog
) -> None:
    with pytest.raises(shopkit.CartEmptyError):
        await shopper.orders.create(shipping_address=ADDRESS)
    await shopper.cart.add_item(catalog.kettle.id, quantity=3)
    await admin_shop.products.update(catalog.kettle.id, stock=1)  # sold elsewhere meanwhile
    with pytest.raises(shopkit.InsufficientStockError) as info:
        await shopper.orders.create(shipping_address=ADDRESS)
    assert catalog.kettle.id in info.value.detail
    with pytest.raises(shopkit.UnprocessableEntityError) as bad:
        await shopper.orders.create(shipping_address={**ADDRESS.model_dump(), "country": "XX"})
    assert "country" in str(bad.value)


async def test_list_get_and_iterate(
    shopper: AsyncShopClient, asgi_http: httpx.AsyncClient, catalog: Catalog
) -> None:
    first = await _checkout(shopper, catalog)
    await shopper.cart.add_item(catalog.cable.id)
    second = await shopper.orders.create(shipping_address=ADDRESS)
    page = await shopper.orders.list()
    assert [o.id for o in page.items] == [second.id, first.id]  # newest first
    assert page.total == 2 and not page.has_next
    await shopper.orders.cancel(first.id)
    cancelled = await shopper.orders.list(status="cancelled")
    assert [o.id for o in cancelled.items] == [first.id]
    assert [o.id async for o in shopper.orders.iterate(page_size=1)] == [second.id, first.id]
    got = await shopper.orders.get(second.id)
    assert got == second
    async with AsyncShopClient(http_client=asgi_http) as stranger:
        await stranger.auth.register(
            email=f"stranger-{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD, name="S"
        )
        with pytest.raises(shopkit.NotFoundError):  # someone else's order: never revealed
            await stranger.orders.get(second.id)
        assert (await stranger.orders.list()).total == 0
    with pytest.raises(shopkit.NotFoundError):
        await shopper.orders.get("not-an-id")


async def test_admin_moves_an_order_through_the_flow(
    shopper: AsyncShopClient, admin_shop: AsyncShopClient, catalog: Catalog
) -> None:
    order = await _checkout(shopper, catalog)
    with pytest.raises(shopkit.PermissionDeniedError):
        await shopper.orders.update_status(order.id, status="confirmed")
    everyone = await admin_shop.orders.list(all=True)
    assert order.id in [o.id for o in everyone.items]
    assert (await admin_shop.orders.get(order.id)).id == order.id  # admins see every order
    with pytest.raises(shopkit.InvalidTransitionError):
        await admin_shop.orders.update_status(order.id, status="shipped")  # skips steps
    for status in ("confirmed", "processing", "shipped", "delivered"):
        order = await admin_shop.orders.update_status(order.id, status=status)
        assert order.status == status
    assert [h.status for h in order.status_history] == [
        "pending",
        "confirmed",
        "processing",
        "shipped",
        "delivered",
    ]
    with pytest.raises(shopkit.InvalidTransitionError):
        await admin_shop.orders.cancel(order.id)  # delivered is final


async def test_cancel_gives_the_stock_back(
    shopper: AsyncShopClient, anon: AsyncShopClient, catalog: Catalog
) -> None:
    order = await _checkout(shopper, catalog)
    assert (await anon.products.get(catalog.headphones.id)).stock == 3
    cancelled = await shopper.orders.cancel(order.id)
    assert cancelled.status == "cancelled"
    assert (await anon.products.get(catalog.headphones.id)).stock == 5
    with pytest.raises(shopkit.InvalidTransitionError):
        await shopper.orders.cancel(order.id)
