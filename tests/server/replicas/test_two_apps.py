"""Two app instances sharing one store and one Redis: what one process does, the other knows.

Each app has its own context, read cache, throttle fallback and subscription, as two
replicas would; they share only the store and Redis (a fresh key prefix per test).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from redis.asyncio import Redis

from shopkit_server.accounts import AccountDirectory, AccountState, CachingAccountDirectory
from shopkit_server.app import create_app
from shopkit_server.products.models import ProductChanges
from shopkit_server.replicas.bus import ReplicaBus
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from tests.conftest import PASSWORD, UserSession, api_client
from tests.server.cart.shop import Shop

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
HEARD_WITHIN = 10.0  # seconds: a bound for a failing test, never a wait on a passing one


@pytest.fixture
def settings(settings: Settings, redis_url: str, redis_prefix: str) -> Settings:
    # A cache TTL far longer than any test: only an invalidation can explain a fresh read.
    return settings.model_copy(
        update={"redis_url": redis_url, "redis_prefix": redis_prefix, "catalog_cache_seconds": 300}
    )


@pytest.fixture
async def other(settings: Settings, store: Store) -> AsyncIterator[FastAPI]:
    """A second replica of the all-in-one app (``app`` is the first)."""
    second = create_app(settings=settings, store=store)
    async with LifespanManager(second):
        yield second


def _bus(app: FastAPI) -> ReplicaBus:
    bus = _shop_of(app).bus
    assert isinstance(bus, ReplicaBus) and bus.up
    return bus


def _shop_of(app: FastAPI) -> Any:
    # The Shop behind an app built by create_app: its start-on-first-request middleware.
    for middleware in app.user_middleware:
        shop = middleware.kwargs.get("shop")
        if shop is not None:
            return shop
    raise AssertionError("no shop behind this app")


def _price(reply: httpx.Response) -> Decimal:
    assert reply.status_code == 200, reply.text
    price: Decimal = json.loads(reply.text, parse_float=Decimal)["price"]
    return price


async def _caught_up(reader: ReplicaBus, writer: ReplicaBus, kind: str) -> None:
    """Until ``reader`` has applied every ``kind`` message ``writer`` has sent so far."""

    def caught_up() -> bool:
        return reader.heard.get(kind, 0) >= writer.published.get(kind, 0)

    async with asyncio.timeout(HEARD_WITHIN):
        await reader.until(caught_up)


class _Counting:
    def __init__(self, inner: AccountDirectory) -> None:
        self.inner = inner
        self.calls = 0

    async def state(self, user_id: str) -> AccountState | None:
        self.calls += 1
        return await self.inner.state(user_id)


async def test_a_catalog_write_in_one_replica_drops_the_others_cache(
    app: FastAPI, other: FastAPI, admin: UserSession
) -> None:
    product = await Shop(admin.client).product(price="10.00")
    path = f"/products/{product['id']}"
    reader, writer = _bus(other), _bus(app)
    await _caught_up(reader, writer, "catalog")  # the creation's messages are behind us
    async with api_client(other) as anon:
        assert _price(await anon.get(path)) == Decimal("10.00")  # cached now, for 300 s
        version = other.state.ctx.products.version.value
        published = writer.published["catalog"]
        changed = await admin.client.patch(path, json={"price": "12.50"})
        assert changed.status_code == 200, changed.text
        assert writer.published["catalog"] == published + 1  # sent before the write answered
        await _caught_up(reader, writer, "catalog")
        assert other.state.ctx.products.version.value == version + 1
        after = await anon.get(path)
    assert _price(after) == Decimal("12.50")


async def test_without_an_invalidation_a_replica_serves_its_cache_for_the_ttl(
    app: FastAPI, other: FastAPI, admin: UserSession, store: Store
) -> None:
    """The control: the cache really holds for the TTL, so the test above proves the bus."""
    product = await Shop(admin.client).product(price="10.00")
    path = f"/products/{product['id']}"
    async with api_client(app) as anon:
        assert _price(await anon.get(path)) == Decimal("10.00")
        # A write that bypasses every service (no version bump, nothing published).
        await store.products.update(
            product["id"], ProductChanges(price=Decimal("99.00")), datetime.now(UTC)
        )
        assert _price(await anon.get(path)) == Decimal("10.00")


async def test_a_deactivation_in_one_replica_is_seen_by_the_other_without_a_store_trip(
    app: FastAPI, other: FastAPI, admin: UserSession, customer: UserSession
) -> None:
    product = await Shop(admin.client).product(stock=10)
    add = {"product_id": product["id"], "quantity": 1}
    reader, writer = _bus(other), _bus(app)
    directory = other.state.ctx.accounts
    assert isinstance(directory, CachingAccountDirectory)
    store_reads = directory.inner = _Counting(directory.inner)
    async with api_client(other, customer.access_token) as on_other:
        assert (await on_other.post("/cart/items", json=add)).status_code == 200
        assert (await on_other.post("/cart/items", json=add)).status_code == 200
        assert store_reads.calls == 1  # the second time, the state came from memory

        await _deactivate(admin, customer.id)
        await _caught_up(reader, writer, "account")
        refused = await on_other.post("/cart/items", json=add)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "account_disabled"
    assert store_reads.calls == 2  # read again after the change was heard


async def _deactivate(admin: UserSession, user_id: str) -> None:
    reply = await admin.client.patch(f"/auth/users/{user_id}", json={"is_active": False})
    assert reply.status_code == 200, reply.text


async def test_failed_logins_are_counted_across_replicas(
    settings: Settings, store: Store, app: FastAPI, customer: UserSession
) -> None:
    # Five failures before the back-off, as in production; alternate the replicas.
    limits = {"login_failures_before_backoff": 5, "login_backoff_seconds": 600.0}
    limited = settings.model_copy(update=limits)
    first, second = (create_app(settings=limited, store=store) for _ in range(2))
    async with LifespanManager(first), LifespanManager(second):
        apps = [first, second]
        statuses = []
        for attempt in range(6):
            async with api_client(apps[attempt % 2]) as anon:
                reply = await anon.post(
                    "/auth/login", json={"email": customer.email, "password": "wrong password"}
                )
                statuses.append(reply.status_code)
        # The sixth attempt, the third on this replica, is refused: five were counted in all.
        assert statuses == [401] * 5 + [429]
        async with api_client(apps[0]) as anon:
            right = await anon.post(
                "/auth/login", json={"email": customer.email, "password": PASSWORD}
            )
        assert right.status_code == 429  # the lock holds for the right password too


async def test_a_reused_refresh_token_revokes_the_family_on_every_replica(
    app: FastAPI, other: FastAPI, customer: UserSession
) -> None:
    reader, writer = _bus(app), _bus(other)
    async with api_client(app) as on_app:
        rotated = await on_app.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
        assert rotated.status_code == 200, rotated.text
    tokens = rotated.json()
    async with api_client(app, tokens["access_token"]) as holder:
        assert (await holder.get("/auth/me")).status_code == 200
        # The spent token again, on the other replica: reuse, the family is revoked.
        async with api_client(other) as thief:
            reused = await thief.post(
                "/auth/refresh", json={"refresh_token": customer.refresh_token}
            )
        assert reused.status_code == 401
        assert writer.published["family"] == 1
        await _caught_up(reader, writer, "family")
        # On the first replica, the family's newer access token stops at once...
        stopped = await holder.get("/auth/me")
        assert stopped.status_code == 401
        assert stopped.json()["code"] == "invalid_token"
    # ...and its newer refresh token is refused before any store trip.
    rotations = _count_rotations(app)
    async with api_client(app) as on_app:
        refused = await on_app.post(
            "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
    assert refused.status_code == 401
    assert rotations() == 0


def _count_rotations(app: FastAPI) -> Callable[[], int]:
    auth = app.state.ctx.auth
    real = auth.refresh_tokens
    calls = [0]

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        async def rotate(self, *args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            return await real.rotate(*args, **kwargs)

    auth.refresh_tokens = Counting()
    return lambda: calls[0]


async def test_a_write_to_one_product_elsewhere_keeps_the_other_products_cached(
    app: FastAPI, other: FastAPI, admin: UserSession
) -> None:
    shop = Shop(admin.client)
    x, y = await shop.product(price="10.00"), await shop.product(price="20.00")
    reader, writer = _bus(other), _bus(app)
    await _caught_up(reader, writer, "catalog")
    service = other.state.ctx.products
    async with api_client(other) as anon:
        assert _price(await anon.get(f"/products/{x['id']}")) == Decimal("10.00")
        assert _price(await anon.get(f"/products/{y['id']}")) == Decimal("20.00")
        assert (await anon.get("/products")).status_code == 200  # all three cached, for 300 s
        reads: list[str] = []
        get_product = service.get_product

        async def counting(product_id: str, **kwargs: bool) -> Any:
            reads.append(product_id)
            return await get_product(product_id, **kwargs)

        service.get_product = counting
        try:
            changed = await admin.client.patch(f"/products/{x['id']}", json={"price": "12.50"})
            assert changed.status_code == 200, changed.text
            await _caught_up(reader, writer, "catalog")
            assert _price(await anon.get(f"/products/{x['id']}")) == Decimal("12.50")
            assert _price(await anon.get(f"/products/{y['id']}")) == Decimal("20.00")
            listed = (await anon.get("/products")).json()["items"]
        finally:
            service.get_product = get_product
    assert reads == [x["id"]]  # y's read stayed cached on the other replica
    assert {p["id"]: p["price"] for p in listed}[x["id"]] == 12.5  # the list was dropped


async def test_a_lost_subscription_resyncs_and_drops_the_cache_once(
    app: FastAPI, other: FastAPI, admin: UserSession, redis_url: str
) -> None:
    product = await Shop(admin.client).product(price="10.00")
    bus = _bus(other)
    await _caught_up(bus, _bus(app), "catalog")
    version = other.state.ctx.products.version.value
    resyncs = bus.resyncs
    killer: Redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        clients = await killer.client_list(_type="pubsub")
        ids = [c["id"] for c in clients if c.get("name") == bus.subscriber_name]
        assert len(ids) == 1
        await killer.execute_command("CLIENT", "KILL", "ID", ids[0])
    finally:
        await killer.aclose()

    def resubscribed() -> bool:
        return bus.resyncs > resyncs

    async with asyncio.timeout(HEARD_WITHIN):
        await bus.until(resubscribed)
    assert bus.up
    # Messages sent while it was down are unknown: the cache was dropped on the way back.
    assert other.state.ctx.products.version.value == version + 1
    async with api_client(other) as anon:
        assert (await anon.get(f"/products/{product['id']}")).status_code == 200
