"""Order history, status moves and cancelling, through the real app on every backend."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from shopkit_server.ids import new_id
from shopkit_server.orders.models import TRANSITIONS, OrderStatus
from tests.conftest import MakeUser, UserSession
from tests.server.cart.shop import Shop, add, checkout

# The shortest way from pending to each status.
PATHS: dict[OrderStatus, list[OrderStatus]] = {
    OrderStatus.PENDING: [],
    OrderStatus.CONFIRMED: [OrderStatus.CONFIRMED],
    OrderStatus.PROCESSING: [OrderStatus.CONFIRMED, OrderStatus.PROCESSING],
    OrderStatus.SHIPPED: [OrderStatus.CONFIRMED, OrderStatus.PROCESSING, OrderStatus.SHIPPED],
    OrderStatus.DELIVERED: [
        OrderStatus.CONFIRMED,
        OrderStatus.PROCESSING,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
    ],
    OrderStatus.CANCELLED: [OrderStatus.CANCELLED],
}


@pytest.fixture
async def shop(admin: UserSession) -> Shop:
    return Shop(admin.client)


async def place(user: UserSession, product: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    assert (await add(user.client, product["id"], quantity)).status_code == 200
    reply = await checkout(user.client)
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    assert body.pop("client_secret") is None  # a manual order: nothing to pay online
    return body


async def move(admin: httpx.AsyncClient, order_id: str, status: str) -> httpx.Response:
    return await admin.patch(f"/orders/{order_id}/status", json={"status": status})


async def test_my_orders_newest_first_filtered_and_paged(
    make_user: MakeUser, shop: Shop, admin: UserSession
) -> None:
    alice, bob = await make_user(), await make_user()
    product = await shop.product()
    mine = [await place(alice, product) for _ in range(3)]
    theirs = await place(bob, product)
    await move(admin.client, mine[0]["id"], "confirmed")

    body = (await alice.client.get("/orders")).json()
    assert [o["id"] for o in body["items"]] == [o["id"] for o in reversed(mine)]
    assert (body["total"], body["page"], body["page_size"], body["has_next"]) == (3, 1, 20, False)
    page = (await alice.client.get("/orders", params={"page_size": 2, "page": 1})).json()
    assert (len(page["items"]), page["has_next"]) == (2, True)
    page2 = (await alice.client.get("/orders", params={"page_size": 2, "page": 2})).json()
    assert [o["id"] for o in page2["items"]] == [mine[0]["id"]]
    confirmed = (await alice.client.get("/orders", params={"status": "confirmed"})).json()
    assert [o["id"] for o in confirmed["items"]] == [mine[0]["id"]]
    assert (await bob.client.get("/orders")).json()["items"] == [theirs]


@pytest.mark.parametrize(
    "params",
    [{"status": "lost"}, {"page": 0}, {"page_size": 101}, {"page_size": 0}, {"all": "maybe"}],
)
async def test_bad_list_queries_are_422(customer: UserSession, params: dict[str, Any]) -> None:
    assert (await customer.client.get("/orders", params=params)).status_code == 422


async def test_admins_list_everyone_and_customers_may_not(
    make_user: MakeUser, shop: Shop, admin: UserSession
) -> None:
    alice, bob = await make_user(), await make_user()
    product = await shop.product()
    a, b = await place(alice, product), await place(bob, product)
    assert (await alice.client.get("/orders", params={"all": "true"})).status_code == 403
    everyone = (await admin.client.get("/orders", params={"all": "true"})).json()
    assert [o["id"] for o in everyone["items"]] == [b["id"], a["id"]]
    assert (await admin.client.get("/orders")).json()["total"] == 0  # the admin's own


async def test_another_users_order_is_404_and_admins_see_all(
    make_user: MakeUser, shop: Shop, admin: UserSession
) -> None:
    alice, bob = await make_user(), await make_user()
    order = await place(alice, await shop.product())
    url = f"/orders/{order['id']}"
    assert (await alice.client.get(url)).json() == order
    for reply in (
        await bob.client.get(url),
        await bob.client.post(f"{url}/cancel"),
        await alice.client.get(f"/orders/{new_id()}"),
        await alice.client.get("/orders/not-an-id"),
    ):
        assert (reply.status_code, reply.json()["code"]) == (404, "order_not_found")
    assert (await admin.client.get(url)).json() == order
    assert (await alice.client.get(url)).json()["status"] == "pending"


async def test_only_admins_move_orders(
    customer: UserSession, shop: Shop, admin: UserSession
) -> None:
    order = await place(customer, await shop.product())
    reply = await move(customer.client, order["id"], "confirmed")
    assert reply.status_code == 403
    assert (await move(admin.client, new_id(), "confirmed")).status_code == 404
    assert (await move(admin.client, "not-an-id", "confirmed")).status_code == 404
    assert (await move(admin.client, order["id"], "lost")).status_code == 422


async def test_every_status_move_allowed_and_refused(
    customer: UserSession, shop: Shop, admin: UserSession
) -> None:
    product = await shop.product(stock=1000)

    async def order_at(status: OrderStatus) -> dict[str, Any]:
        order = await place(customer, product)
        for step in PATHS[status]:
            reply = await move(admin.client, order["id"], step.value)
            assert reply.status_code == 200, reply.text
            order = reply.json()
        return order

    for current in OrderStatus:
        order = await order_at(current)
        for target in OrderStatus:
            if target in TRANSITIONS[current]:
                continue
            reply = await move(admin.client, order["id"], target.value)
            assert (reply.status_code, reply.json()["code"]) == (409, "invalid_transition"), (
                current,
                target,
            )
        assert (await admin.client.get(f"/orders/{order['id']}")).json() == order

    for current, targets in TRANSITIONS.items():
        for target in targets:
            order = await order_at(current)
            reply = await move(admin.client, order["id"], target.value)
            assert reply.status_code == 200, (current, target)
            moved = reply.json()
            assert moved["status"] == target.value
            assert [h["status"] for h in moved["status_history"]] == [
                "pending",
                *(s.value for s in PATHS[current]),
                target.value,
            ]


async def test_history_records_every_move_with_its_time(
    customer: UserSession, shop: Shop, admin: UserSession
) -> None:
    order = await place(customer, await shop.product())
    for status in ("confirmed", "processing", "shipped", "delivered"):
        assert (await move(admin.client, order["id"], status)).status_code == 200
    final = (await customer.client.get(f"/orders/{order['id']}")).json()
    history = final["status_history"]
    assert [h["status"] for h in history] == [
        "pending",
        "confirmed",
        "processing",
        "shipped",
        "delivered",
    ]
    times = [datetime.fromisoformat(h["at"]) for h in history]
    assert all(t.utcoffset() is not None for t in times)
    assert times == sorted(times)
    assert final["updated_at"] == history[-1]["at"]
    assert final["created_at"] == history[0]["at"]


async def test_owner_cancels_pending_and_confirmed_and_stock_returns(
    customer: UserSession, shop: Shop, admin: UserSession
) -> None:
    product = await shop.product(stock=10)
    first = await place(customer, product, 3)
    second = await place(customer, product, 2)
    assert await shop.stock(product["id"]) == 5
    reply = await customer.client.post(f"/orders/{first['id']}/cancel")
    assert reply.status_code == 200
    assert reply.json()["status"] == "cancelled"
    assert [h["status"] for h in reply.json()["status_history"]] == ["pending", "cancelled"]
    assert await shop.stock(product["id"]) == 8
    await move(admin.client, second["id"], "confirmed")
    assert (await customer.client.post(f"/orders/{second['id']}/cancel")).status_code == 200
    assert await shop.stock(product["id"]) == 10
    again = await customer.client.post(f"/orders/{second['id']}/cancel")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    assert await shop.stock(product["id"]) == 10


async def test_cancel_is_refused_once_processing(
    customer: UserSession, shop: Shop, admin: UserSession
) -> None:
    product = await shop.product(stock=5)
    order = await place(customer, product)
    for status in ("confirmed", "processing"):
        await move(admin.client, order["id"], status)
    reply = await customer.client.post(f"/orders/{order['id']}/cancel")
    assert (reply.status_code, reply.json()["code"]) == (409, "invalid_transition")
    assert await shop.stock(product["id"]) == 4


async def test_admins_cancel_any_order_by_either_route(
    customer: UserSession, shop: Shop, admin: UserSession
) -> None:
    product = await shop.product(stock=6)
    a, b = await place(customer, product, 2), await place(customer, product, 3)
    assert (await admin.client.post(f"/orders/{a['id']}/cancel")).status_code == 200
    assert (await move(admin.client, b["id"], "cancelled")).status_code == 200
    assert await shop.stock(product["id"]) == 6
