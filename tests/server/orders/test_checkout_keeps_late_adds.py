"""A line added to the cart while a checkout runs is kept, not cleared with the ordered ones."""

from __future__ import annotations

import asyncio

import httpx

from shopkit_server.products.models import StockLine
from shopkit_server.store import Store
from tests.conftest import UserSession
from tests.server.cart.shop import ADDRESS, Shop


async def test_an_add_racing_a_checkout_is_never_lost(
    admin: UserSession, customer: UserSession, app: object
) -> None:
    shop = Shop(admin.client)
    first = await shop.product(stock=1000)
    second = await shop.product(stock=1000)
    client: httpx.AsyncClient = customer.client
    lost = 0
    for delay in range(12):
        assert (
            await client.post("/cart/items", json={"product_id": first["id"], "quantity": 1})
        ).status_code == 200

        async def add_later(pause: float = delay * 0.0007) -> httpx.Response:
            await asyncio.sleep(pause)
            return await client.post(
                "/cart/items", json={"product_id": second["id"], "quantity": 1}
            )

        order, added = await asyncio.gather(
            client.post("/orders", json={"shipping_address": ADDRESS}), add_later()
        )
        assert order.status_code == 201 and added.status_code == 200
        ordered = {i["product_id"] for i in order.json()["items"]}
        cart = {i["product_id"] for i in (await client.get("/cart")).json()["items"]}
        if second["id"] not in ordered and second["id"] not in cart:
            lost += 1
        assert first["id"] not in cart  # what was ordered left the cart
        await client.delete("/cart")
    assert lost == 0


async def test_finishing_a_checkout_subtracts_and_keeps_extra_units(store: Store) -> None:
    from decimal import Decimal

    from shopkit_server.cart.models import CartItem
    from shopkit_server.clock import utc_now

    user, checkout = "0" * 24, "9" * 24
    for pid, qty in (("a" * 24, 3), ("b" * 24, 2)):
        item = CartItem(product_id=pid, name=pid[:1], price=Decimal("1.00"), quantity=qty)
        await store.carts.add_item(user, item, max_quantity=99, max_lines=100, now=utc_now())
    now = utc_now()
    assert await store.carts.claim_checkout(user, checkout, now=now, stale_before=now)
    lines = [StockLine("a" * 24, 1), StockLine("b" * 24, 2), StockLine("c" * 24, 5)]
    await store.carts.finish_checkout(user, checkout, lines, now=utc_now())
    cart = await store.carts.get(user)
    assert [(i.product_id, i.quantity) for i in cart.items] == [("a" * 24, 2)]
    # Finishing again (a retried call) changes nothing: the claim is gone.
    await store.carts.finish_checkout(user, checkout, lines, now=utc_now())
    assert [(i.product_id, i.quantity) for i in (await store.carts.get(user)).items] == [
        ("a" * 24, 2)
    ]
    assert await store.carts.claim_checkout(user, checkout, now=now, stale_before=now)
    await store.carts.finish_checkout(user, checkout, [StockLine("a" * 24, 2)], now=utc_now())
    assert (await store.carts.get(user)).items == []
