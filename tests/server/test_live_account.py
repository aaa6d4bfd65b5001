"""A deactivated account loses every state-changing route at once, not when its token expires."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from shopkit_server.accounts import AccountDirectory, AccountState
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from tests.conftest import PASSWORD, UserSession
from tests.server.apart import make_product, services_apart
from tests.server.cart.shop import ADDRESS, Shop


class _Counting:
    def __init__(self, inner: AccountDirectory) -> None:
        self.inner = inner
        self.calls = 0

    async def state(self, user_id: str) -> AccountState | None:
        self.calls += 1
        return await self.inner.state(user_id)


async def _deactivate(admin: UserSession, user_id: str) -> None:
    reply = await admin.client.patch(f"/auth/users/{user_id}", json={"is_active": False})
    assert reply.status_code == 200, reply.text


async def test_a_deactivated_customer_cannot_shop_with_the_old_token(
    app: FastAPI, customer: UserSession, admin: UserSession
) -> None:
    product = await Shop(admin.client).product(stock=10)
    add = {"product_id": product["id"], "quantity": 1}
    assert (await customer.client.post("/cart/items", json=add)).status_code == 200
    placed = await customer.client.post("/orders", json={"shipping_address": ADDRESS})
    assert placed.status_code == 201
    assert (await customer.client.post("/cart/items", json=add)).status_code == 200

    await _deactivate(admin, customer.id)
    pid = product["id"]
    refused = [
        await customer.client.post("/cart/items", json=add),
        await customer.client.patch(f"/cart/items/{pid}", json={"quantity": 3}),
        await customer.client.delete(f"/cart/items/{pid}"),
        await customer.client.delete("/cart"),
        await customer.client.post("/orders", json={"shipping_address": ADDRESS}),
        await customer.client.post(f"/orders/{placed.json()['id']}/cancel"),
        await customer.client.patch("/auth/me", json={"name": "Still here"}),
        await customer.client.post(
            "/auth/change-password",
            json={"current_password": PASSWORD, "new_password": "another long password"},
        ),
    ]
    for reply in refused:
        assert reply.status_code == 403, (reply.request.method, reply.request.url, reply.text)
        assert reply.json()["code"] == "account_disabled"
    # Nothing was changed on the way: the cart still holds its line, the order is still placed.
    assert (await admin.client.get(f"/orders/{placed.json()['id']}")).json()["status"] == "pending"
    # The cart answers a live account only (it also serves guests), so the store is asked.
    assert (await customer.client.get("/cart")).json()["code"] == "account_disabled"
    assert (await app.state.ctx.store.carts.get(customer.id)).items[0].quantity == 1


async def test_catalog_reads_make_no_account_lookup(
    app: FastAPI, customer: UserSession, admin: UserSession
) -> None:
    product = await Shop(admin.client).product()
    counting = _Counting(app.state.ctx.accounts)
    app.state.ctx.accounts = counting
    assert (await customer.client.get("/products")).status_code == 200
    assert (await customer.client.get(f"/products/{product['id']}")).status_code == 200
    assert (await customer.client.get("/categories")).status_code == 200
    assert counting.calls == 0
    add = {"product_id": product["id"], "quantity": 1}
    assert (await customer.client.post("/cart/items", json=add)).status_code == 200
    assert counting.calls == 1  # a write asks once, also though the route checks it early


async def test_services_apart_see_a_deactivation_through_the_shared_store(
    settings: Settings, store: Store
) -> None:
    async with services_apart(settings, store) as apart:
        product = await make_product(apart, stock=5)
        user_id, token = await apart.customer()
        add = {"product_id": product["id"], "quantity": 1}
        clients: list[httpx.AsyncClient] = [apart.client(apart.cart, token)]
        clients.append(apart.client(apart.orders, token))
        async with clients[0] as cart, clients[1] as orders:
            assert (await cart.post("/cart/items", json=add)).status_code == 200
            await apart.products.state.ctx.auth.update_user(
                actor_id="someone-else", user_id=user_id, role=None, is_active=False
            )
            replies: list[Any] = [
                await cart.post("/cart/items", json=add),
                await orders.post("/orders", json={"shipping_address": ADDRESS}),
            ]
        for reply in replies:
            assert reply.status_code == 403, reply.text
            assert reply.json()["code"] == "account_disabled"
