"""PostgreSQL dropping connections: a 503 ``store_unavailable``, nothing half-written, and the
pool recovers on its own."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from shopkit_server.settings import Settings
from tests.conftest import UserSession
from tests.server.cart.shop import Shop, add, checkout
from tests.server.test_postgres_races import gate

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


async def _terminate_waiting(conn: asyncpg.Connection[object]) -> int:
    """Cut every shopkit connection that waits on a lock; how many were cut."""
    return int(
        await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'shopkit' "
            "AND wait_event_type = 'Lock'"
        )
    )


async def test_a_connection_lost_mid_checkout_is_503_and_takes_nothing(
    customer: UserSession, admin: UserSession, settings: Settings
) -> None:
    shop = Shop(admin.client)
    product = await shop.product(stock=5)
    await add(customer.client, product["id"], 2)
    watcher = await asyncpg.connect(settings.database_url)
    try:
        async with gate(settings.database_url, "products") as shut:
            running = asyncio.ensure_future(checkout(customer.client))
            async with asyncio.timeout(30):
                # Until the checkout's transaction waits at the products lock: then cut it.
                while await _terminate_waiting(watcher) == 0:
                    assert not running.done(), (await running).text
                    await asyncio.sleep(0.02)
            await shut.execute("COMMIT")
        reply = await running
    finally:
        await watcher.close()

    assert reply.status_code == 503, reply.text
    assert reply.json() == {"detail": "The database did not answer.", "code": "store_unavailable"}
    assert await shop.stock(product["id"]) == 5
    assert (await customer.client.get("/cart")).json()["total_items"] == 2
    assert (await customer.client.get("/orders")).json()["total"] == 0
    # The same request again, on a fresh connection: it goes through.
    assert (await checkout(customer.client)).status_code == 201
    assert await shop.stock(product["id"]) == 3


async def test_every_pooled_connection_dropped_at_once_is_not_an_error(
    client: httpx.AsyncClient, admin: UserSession, settings: Settings
) -> None:
    # A failover or a server restart closes every connection of the pool; asyncpg sees the
    # closed sockets and opens new ones, so the requests after it just work.
    shop = Shop(admin.client)
    product = await shop.product(stock=5)
    # Reads at once open several pooled connections: after the drop, a request may meet one
    # stale connection after another before it reaches a fresh one.
    reads = [client.get(f"/products/{product['id']}") for _ in range(8)]
    assert {r.status_code for r in await asyncio.gather(*reads)} == {200}
    conn = await asyncpg.connect(settings.database_url)
    try:
        pids = [
            row[0]
            for row in await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'shopkit'"
            )
        ]
        assert len(pids) >= 3, pids
        await conn.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
        async with asyncio.timeout(30):  # until every one of them has exited
            while await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", pids
            ):
                pass
    finally:
        await conn.close()
    for _ in range(len(pids) + 1):  # one after another: each meets what the last one left
        reply = await client.get(f"/products/{product['id']}")
        assert reply.status_code == 200, reply.text
    assert (await client.get("/health")).status_code == 200


async def test_a_stale_pooled_connection_is_replaced_not_an_error(
    client: httpx.AsyncClient,
    admin: UserSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the test above runs into under load: a pooled connection whose server process was
    # terminated, the farewell error already read but not yet the socket's end. asyncpg then
    # refuses the next statement (InternalClientError) before sending anything. Here that
    # state is forced on the first statement of a request; the store closes that connection
    # and runs the statement on another.
    shop = Shop(admin.client)
    product = await shop.product(stock=5)
    original = asyncpg.connection.Connection._get_statement
    stale: list[asyncpg.Connection[object]] = []

    async def first_is_stale(
        self: asyncpg.Connection[object], *args: object, **kw: object
    ) -> object:
        if not stale:
            stale.append(self)
            raise asyncpg.exceptions.InternalClientError(
                "cannot switch to state 11; another operation (2) is in progress"
            )
        return await original(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(asyncpg.connection.Connection, "_get_statement", first_is_stale)
    reply = await client.get(f"/products/{product['id']}")
    assert reply.status_code == 200, reply.text
    assert reply.json()["id"] == product["id"]
    assert len(stale) == 1 and stale[0].is_closed()
    # A transaction too (the cart's writes) runs again on a fresh connection.
    stale.clear()
    reply = await add(admin.client, product["id"])
    assert reply.status_code in (200, 201), reply.text
    assert len(stale) == 1 and stale[0].is_closed()
