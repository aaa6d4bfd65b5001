"""All services in one process: a checkout is one store operation where the store has it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI

from shopkit_server.deps import Principal
from shopkit_server.orders.models import Address
from shopkit_server.store import Store
from tests.conftest import UserSession
from tests.server.cart.shop import Shop, add, checkout

ADDRESS = Address(
    full_name="Ayesha Khan",
    address_line1="12 Clifton Rd",
    city="Karachi",
    postal_code="75500",
    country="PK",
    phone="+92 300 1234567",
)


@pytest.fixture
async def shop(admin: UserSession) -> Shop:
    return Shop(admin.client)


def spy(store: Store, name: str, calls: list[str]) -> None:
    target: Any = store.carts
    inner = getattr(target, name)

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return await inner(*args, **kwargs)

    setattr(target, name, counted)


async def test_a_checkout_is_one_place_order_and_no_compensating_step(
    store: Store, customer: UserSession, shop: Shop
) -> None:
    if store.checkout is None:
        pytest.skip("mongo compensates: tests/server/orders cover that path")
    product = await shop.product("4.50", stock=6)
    await add(customer.client, product["id"], 2)
    calls: list[str] = []
    for name in ("claim_checkout", "finish_checkout", "release_checkout"):
        spy(store, name, calls)
    placed = 0
    inner = store.checkout.place_order

    async def counting(placement: Any) -> Any:
        nonlocal placed
        placed += 1
        return await inner(placement)

    store.checkout.place_order = counting  # type: ignore[method-assign]

    reply = await checkout(customer.client, key="one-op")

    assert reply.status_code == 201, reply.text
    assert (placed, calls) == (1, [])
    assert await shop.stock(product["id"]) == 4
    assert (await customer.client.get("/cart")).json()["items"] == []
    replay = await checkout(customer.client, key="one-op")
    assert (replay.status_code, replay.json()["id"]) == (201, reply.json()["id"])
    assert replay.headers.get("idempotent-replayed") == "true"


async def test_a_cancelled_checkout_leaves_all_of_it_or_none_of_it(
    app: FastAPI, store: Store, customer: UserSession, shop: Shop
) -> None:
    if store.checkout is None:
        pytest.skip("mongo compensates: tests/server/orders cover that path")
    product = await shop.product("4.50", stock=6)
    await add(customer.client, product["id"], 2)
    entered = asyncio.Event()
    inner = store.checkout.place_order

    async def announced(placement: Any) -> Any:
        entered.set()
        return await inner(placement)

    store.checkout.place_order = announced  # type: ignore[method-assign]
    service = app.state.ctx.orders
    user = Principal(id=customer.id, role=customer.role, token=customer.access_token)
    task = asyncio.ensure_future(service.checkout(user, ADDRESS, "cancelled"))
    await entered.wait()  # inside the store operation, which runs on regardless
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    orders = (await customer.client.get("/orders")).json()
    cart = (await customer.client.get("/cart")).json()["items"]
    if orders["total"] == 1:  # committed whole before the cancellation landed
        assert (await shop.stock(product["id"]), cart) == (4, [])
    else:  # rolled back whole
        assert orders["total"] == 0
        assert await shop.stock(product["id"]) == 6
        assert [line["quantity"] for line in cart] == [2]
    # Either way a retry with the key finishes the job exactly once.
    retry = await checkout(customer.client, key="cancelled")
    assert retry.status_code == 201
    assert await shop.stock(product["id"]) == 4
    assert (await customer.client.get("/orders")).json()["total"] == 1
