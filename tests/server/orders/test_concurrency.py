"""Checkouts and status moves racing each other: real concurrent requests, every backend."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI

from shopkit_server.store import Store
from tests.conftest import MakeUser, UserSession
from tests.server.cart.shop import Shop, add, checkout
from tests.server.orders.gate import OverlapGate


@pytest.fixture
async def shop(admin: UserSession) -> Shop:
    return Shop(admin.client)


async def test_20_users_racing_for_the_last_5_units(
    make_user: MakeUser, shop: Shop, admin: UserSession
) -> None:
    product = await shop.product("12.00", stock=5)
    users = [await make_user() for _ in range(20)]
    for user in users:
        assert (await add(user.client, product["id"])).status_code == 200

    replies = await asyncio.gather(*(checkout(user.client) for user in users))

    assert Counter(r.status_code for r in replies) == {201: 5, 409: 15}
    assert {r.json()["code"] for r in replies if r.status_code == 409} == {"insufficient_stock"}
    assert await shop.stock(product["id"]) == 0
    orders = (await admin.client.get("/orders", params={"all": "true"})).json()
    assert orders["total"] == 5
    assert sorted(o["user_id"] for o in orders["items"]) == sorted(
        r.json()["user_id"] for r in replies if r.status_code == 201
    )


async def test_5_concurrent_checkouts_with_one_key_make_one_order(
    customer: UserSession, shop: Shop
) -> None:
    product = await shop.product(stock=10)
    await add(customer.client, product["id"], 3)

    replies = await asyncio.gather(*(checkout(customer.client, key="same-key") for _ in range(5)))

    assert [r.status_code for r in replies] == [201] * 5
    assert len({r.json()["id"] for r in replies}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in replies) == 4
    assert await shop.stock(product["id"]) == 7
    assert (await customer.client.get("/orders")).json()["total"] == 1


async def test_a_double_tap_without_a_key_orders_once(
    app: FastAPI, customer: UserSession, shop: Shop
) -> None:
    product = await shop.product(stock=10)
    await add(customer.client, product["id"], 1)
    service = app.state.ctx.orders
    gate = OverlapGate(service.products, racers=5)
    service.products = gate

    replies = await asyncio.gather(*(gate.answer(checkout(customer.client)) for _ in range(5)))

    assert gate.opened_at == (1, 4)  # one checkout inside while the four others answered
    assert Counter(r.status_code for r in replies) == {201: 1, 409: 4}
    assert {r.json()["code"] for r in replies if r.status_code == 409} == {"checkout_in_progress"}
    assert await shop.stock(product["id"]) == 9  # taken once
    assert (await customer.client.get("/orders")).json()["total"] == 1
    assert (await customer.client.get("/cart")).json()["items"] == []
    # The cart snapshot is spent: tapping again finds nothing to order.
    again = await checkout(customer.client)
    assert (again.status_code, again.json()["code"]) == (400, "cart_empty")


async def test_a_failed_checkout_releases_its_claim(
    app: FastAPI, customer: UserSession, shop: Shop, admin: UserSession
) -> None:
    product = await shop.product(stock=1)
    await add(customer.client, product["id"], 1)
    await shop.update(product["id"], stock=0)
    refused = await checkout(customer.client)
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_stock")
    await shop.update(product["id"], stock=1)
    assert (await checkout(customer.client)).status_code == 201  # not "checkout_in_progress"


async def test_cancel_sent_twice_at_once_restocks_once(customer: UserSession, shop: Shop) -> None:
    product = await shop.product(stock=8)
    await add(customer.client, product["id"], 3)
    order = (await checkout(customer.client)).json()
    assert await shop.stock(product["id"]) == 5

    url = f"/orders/{order['id']}/cancel"
    replies = await asyncio.gather(customer.client.post(url), customer.client.post(url))

    assert sorted(r.status_code for r in replies) == [200, 409]
    assert await shop.stock(product["id"]) == 8
    final = (await customer.client.get(f"/orders/{order['id']}")).json()
    assert [h["status"] for h in final["status_history"]] == ["pending", "cancelled"]


async def test_the_same_move_sent_at_once_applies_once(
    customer: UserSession, shop: Shop, admin: UserSession
) -> None:
    product = await shop.product(stock=8)
    await add(customer.client, product["id"], 2)
    order = (await checkout(customer.client)).json()
    url = f"/orders/{order['id']}/status"

    replies = await asyncio.gather(
        *(admin.client.patch(url, json={"status": "confirmed"}) for _ in range(6))
    )

    assert Counter(r.status_code for r in replies) == {200: 1, 409: 5}
    final = (await admin.client.get(f"/orders/{order['id']}")).json()
    assert [h["status"] for h in final["status_history"]] == ["pending", "confirmed"]


async def test_racing_moves_each_apply_to_the_status_they_saw(
    customer: UserSession, shop: Shop, admin: UserSession
) -> None:
    product = await shop.product(stock=8)
    await add(customer.client, product["id"], 2)
    order = (await checkout(customer.client)).json()
    url = f"/orders/{order['id']}/status"

    replies = await asyncio.gather(
        *(admin.client.patch(url, json={"status": s}) for s in ["confirmed", "cancelled"] * 3),
        customer.client.post(f"/orders/{order['id']}/cancel"),
    )

    # A move that lost the race is decided again on the status that won: "cancel" still
    # applies after "confirm" (confirmed -> cancelled is allowed), a second "confirm" does not.
    final = (await admin.client.get(f"/orders/{order['id']}")).json()
    history = [h["status"] for h in final["status_history"]]
    assert sum(r.status_code == 200 for r in replies) == len(history) - 1
    assert all(r.status_code in (200, 409) for r in replies)
    assert history in (
        ["pending", "cancelled"],
        ["pending", "confirmed", "cancelled"],
    )
    assert await shop.stock(product["id"]) == 8  # cancelled once, restocked once


async def test_concurrent_checkouts_really_overlap_on_every_store(
    make_user: MakeUser, shop: Shop, store: Store
) -> None:
    """The race tests above prove something only if the requests overlap in the store.

    On the mongo stand-in that needs every call to yield (tests/conftest.py): unpatched,
    mongomock-motor never suspends, and the checkouts ran one after another.
    """
    product = await shop.product("3.00", stock=100)
    users = [await make_user() for _ in range(8)]
    for user in users:
        assert (await add(user.client, product["id"])).status_code == 200
    in_flight = peak = 0
    # Where a checkout reaches the store: the one store operation placing the whole order
    # (SQLite, PostgreSQL), or the stock reservation of the compensating path (mongo).
    target: Any = store.checkout if store.checkout is not None else store.products
    name = "place_order" if store.checkout is not None else "reserve"
    reaching = getattr(target, name)

    async def counting(*args: Any) -> Any:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await reaching(*args)
        finally:
            in_flight -= 1

    setattr(target, name, counting)
    replies = await asyncio.gather(*(checkout(user.client) for user in users))

    assert [r.status_code for r in replies] == [201] * len(users)
    assert peak >= 2, f"at most {peak} {name} in flight: the checkouts did not overlap"
    assert await shop.stock(product["id"]) == 100 - len(users)
