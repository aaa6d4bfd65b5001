"""The race tests again on PostgreSQL, with proof that the transactions really overlapped.

A *gate* connection takes an EXCLUSIVE lock on the table every racing request must write
(plain reads still pass), the requests are sent at once, and the gate opens only when
PostgreSQL itself reports that many shopkit connections waiting on a lock: at that moment
that many transactions are in flight together, each on its own pooled connection. Then the
invariants are checked. Two apps with a pool each stand for two server processes sharing one
database.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shopkit_server.app import create_app
from shopkit_server.settings import Settings
from shopkit_server.store import open_store
from tests.conftest import PASSWORD, MakeUser, UserSession, api_client
from tests.server.cart.shop import Shop, add, checkout

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

T = TypeVar("T")
POOL = 40


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"postgres_pool_size": POOL})


async def _waiting(conn: asyncpg.Connection[Any]) -> int:
    # Outside a transaction, so every call reads fresh activity (a transaction would keep
    # reading its first snapshot of the statistics).
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'shopkit' AND wait_event_type = 'Lock'"
        )
    )


@asynccontextmanager
async def gate(database_url: str, table: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"BEGIN; LOCK TABLE {table} IN EXCLUSIVE MODE")
        yield conn  # the caller opens the gate with COMMIT
    finally:
        await conn.close()  # closing also rolls back a gate left shut


async def race(
    database_url: str, table: str, requests: list[Coroutine[Any, Any, T]], *, waiting: int
) -> list[T]:
    """Run the requests at once; open the gate on ``table`` once ``waiting`` of them wait."""
    watcher = await asyncpg.connect(database_url)
    try:
        async with gate(database_url, table) as conn:
            running = asyncio.ensure_future(asyncio.gather(*requests))
            async with asyncio.timeout(60):
                while (seen := await _waiting(watcher)) < waiting:
                    if running.done():
                        await running  # a request failed before it reached the gate
                        pytest.fail(f"only {seen} requests reached the {table} lock")
                    await asyncio.sleep(0.02)
            await conn.execute("COMMIT")
        return await running
    finally:
        await watcher.close()


@pytest.fixture
async def shop(admin: UserSession) -> Shop:
    return Shop(admin.client)


async def test_20_checkouts_in_flight_at_once_sell_5_units_exactly(
    make_user: MakeUser, shop: Shop, admin: UserSession, settings: Settings
) -> None:
    product = await shop.product("12.00", stock=5)
    users = [await make_user() for _ in range(20)]
    for user in users:
        assert (await add(user.client, product["id"])).status_code == 200

    replies = await race(
        settings.database_url, "products", [checkout(user.client) for user in users], waiting=20
    )

    assert Counter(r.status_code for r in replies) == {201: 5, 409: 15}
    assert await shop.stock(product["id"]) == 0
    orders = (await admin.client.get("/orders", params={"all": "true"})).json()
    assert orders["total"] == 5


async def test_double_tapped_checkout_with_one_key_makes_one_order(
    customer: UserSession, shop: Shop, settings: Settings
) -> None:
    product = await shop.product(stock=10)
    await add(customer.client, product["id"], 3)

    replies = await race(
        settings.database_url,
        "idempotency_keys",
        [checkout(customer.client, key="tap-tap") for _ in range(6)],
        waiting=6,
    )

    assert [r.status_code for r in replies] == [201] * 6
    assert len({r.json()["id"] for r in replies}) == 1
    assert await shop.stock(product["id"]) == 7
    assert (await customer.client.get("/orders")).json()["total"] == 1


async def test_25_adds_in_flight_at_once_all_count(
    customer: UserSession, shop: Shop, settings: Settings
) -> None:
    product = await shop.product(stock=40)
    replies = await race(
        settings.database_url,
        "carts",
        [add(customer.client, product["id"]) for _ in range(25)],
        waiting=25,
    )
    assert [r.status_code for r in replies] == [200] * 25
    assert (await customer.client.get("/cart")).json()["items"][0]["quantity"] == 25


async def test_adds_in_flight_at_once_never_pass_the_line_limit(
    customer: UserSession, shop: Shop, settings: Settings
) -> None:
    product = await shop.product(stock=500)
    replies = await race(
        settings.database_url,
        "carts",
        [add(customer.client, product["id"], 30) for _ in range(5)],
        waiting=5,
    )
    assert sorted(r.status_code for r in replies) == [200, 200, 200, 409, 409]
    assert (await customer.client.get("/cart")).json()["total_items"] == 90


async def test_registrations_in_flight_at_once_make_one_account(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    emails = ["race@example.com", "RACE@example.com", " Race@Example.com"] * 3
    replies = await race(
        settings.database_url,
        "users",
        [
            client.post("/auth/register", json={"email": e, "password": PASSWORD, "name": "R"})
            for e in emails
        ],
        waiting=len(emails),
    )
    assert sorted(r.status_code for r in replies) == [201] + [409] * (len(emails) - 1)


async def test_two_server_processes_on_one_database_never_oversell(
    app: FastAPI, make_user: MakeUser, shop: Shop, settings: Settings
) -> None:
    # A second app with its own store and pool: another process as far as the database knows.
    second_store = await open_store(settings)
    second = create_app(settings=settings, store=second_store)
    try:
        async with LifespanManager(second):
            product = await shop.product("5.00", stock=7)
            users = [await make_user() for _ in range(16)]
            for user in users:
                assert (await add(user.client, product["id"])).status_code == 200
            clients = [
                user.client if i % 2 else api_client(second, user.access_token)
                for i, user in enumerate(users)
            ]
            try:
                replies = await race(
                    settings.database_url, "products", [checkout(c) for c in clients], waiting=16
                )
            finally:
                for i, c in enumerate(clients):
                    if not i % 2:
                        await c.aclose()
            assert Counter(r.status_code for r in replies) == {201: 7, 409: 9}
            assert await shop.stock(product["id"]) == 0
    finally:
        await second_store.close()


async def test_a_line_added_while_a_checkout_waits_for_the_cart_is_kept(
    customer: UserSession, shop: Shop, settings: Settings
) -> None:
    # An add in flight holds the cart row (as the cart's add does) when the checkout reaches
    # it; its line commits while the checkout waits on that lock. The order takes the line or
    # the cart keeps it: deleting the ordered cart must not take it unseen.
    first, second = await shop.product(), await shop.product()
    assert (await add(customer.client, first["id"])).status_code == 200
    me = (await customer.client.get("/auth/me")).json()["id"]
    adder = await asyncpg.connect(settings.database_url)
    watcher = await asyncpg.connect(settings.database_url)
    try:
        await adder.execute("BEGIN")
        await adder.execute("SELECT 1 FROM carts WHERE user_id = $1 FOR UPDATE", me)
        running = asyncio.ensure_future(checkout(customer.client))
        async with asyncio.timeout(60):
            while await _waiting(watcher) < 1:  # the checkout waits for the cart row
                if running.done():
                    pytest.fail(f"the checkout did not wait for the cart: {(await running).text}")
                await asyncio.sleep(0.02)
        await adder.execute(
            "INSERT INTO cart_items (user_id, product_id, name, price, image_url, quantity, "
            "variant_id) SELECT user_id, $2, name, price, image_url, 1, $3 FROM cart_items "
            "WHERE user_id = $1",
            me,
            second["id"],
            second["variants"][0]["id"],
        )
        await adder.execute("COMMIT")
        order = await running
    finally:
        await adder.close()
        await watcher.close()
    assert order.status_code == 201, order.text
    ordered = {item["product_id"] for item in order.json()["items"]}
    cart = {item["product_id"] for item in (await customer.client.get("/cart")).json()["items"]}
    assert first["id"] in ordered and first["id"] not in cart
    assert second["id"] in ordered | cart
