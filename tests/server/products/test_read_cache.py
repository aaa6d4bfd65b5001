"""The catalog read cache: fast repeats, never stale after a write through this process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from shopkit_server.clock import utc_now
from shopkit_server.products.models import ProductChanges, StockLine
from shopkit_server.products.service import ProductService
from shopkit_server.read_cache import CatalogReadCache
from tests.conftest import UserSession
from tests.server.cart.shop import add, checkout
from tests.server.products.conftest import Catalog

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _cache(app: FastAPI) -> CatalogReadCache:
    stack = app.middleware_stack
    while stack is not None and not isinstance(stack, CatalogReadCache):
        stack = getattr(stack, "app", None)
    assert isinstance(stack, CatalogReadCache), "the cache middleware is not mounted"
    return stack


async def test_a_repeated_read_is_served_from_the_cache(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog, service: ProductService
) -> None:
    first = await client.get("/products", params={"sort": "price_asc"})
    calls = 0
    original = service.list_products

    async def counting(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    service.list_products = counting  # type: ignore[method-assign]
    second = await client.get("/products", params={"sort": "price_asc"})
    assert calls == 0  # no service call: the bytes came from the cache
    assert second.content == first.content
    assert second.headers["content-type"] == "application/json"
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    other = await client.get("/products", params={"sort": "price_desc"})
    assert calls == 1 and other.json()["items"][0]["name"] == "Smartphone"


async def test_every_kind_of_catalog_write_invalidates(
    client: httpx.AsyncClient, catalog: Catalog, service: ProductService, admin: UserSession
) -> None:
    pid = catalog.id("Wireless Headphones")
    assert (await client.get(f"/products/{pid}")).json()["price"] == 99.99
    assert (await admin.client.patch(f"/products/{pid}", json={"price": 89.99})).status_code == 200
    assert (await client.get(f"/products/{pid}")).json()["price"] == 89.99

    await service.reserve_stock("order-1", [StockLine(product_id=pid, quantity=2)])
    assert (await client.get(f"/products/{pid}")).json()["stock"] == 3
    await service.release_stock("order-1")
    assert (await client.get(f"/products/{pid}")).json()["stock"] == 5

    assert (await admin.client.delete(f"/products/{pid}")).status_code == 204
    assert (await client.get(f"/products/{pid}")).status_code == 404

    before = await client.get("/categories")
    created = await admin.client.post("/categories", json={"name": "Garden"})
    assert created.status_code == 201
    after = await client.get("/categories")
    assert len(after.json()) == len(before.json()) + 1


async def test_a_read_racing_a_write_is_not_kept_stale(
    client: httpx.AsyncClient, catalog: Catalog, service: ProductService, admin: UserSession
) -> None:
    pid = catalog.id("Smartphone")
    original = service.get_product

    async def slow_read(*args: object, **kwargs: object) -> object:
        product = await original(*args, **kwargs)  # type: ignore[arg-type]
        await asyncio.sleep(0.05)  # the write below commits while this read is in flight
        return product

    service.get_product = slow_read  # type: ignore[method-assign]
    stale, _ = await asyncio.gather(
        client.get(f"/products/{pid}"),
        admin.client.patch(f"/products/{pid}", json={"stock": 42}),
    )
    assert stale.json()["stock"] == 10
    service.get_product = original  # type: ignore[method-assign]
    assert (await client.get(f"/products/{pid}")).json()["stock"] == 42


async def test_admin_reads_and_bad_tokens_bypass_the_cache(
    client: httpx.AsyncClient, catalog: Catalog, customer: UserSession, admin: UserSession
) -> None:
    pid = catalog.id("Old Radio")  # inactive
    assert (await admin.client.get(f"/products/{pid}?include_inactive=true")).status_code == 200
    assert (await client.get(f"/products/{pid}?include_inactive=true")).status_code == 401
    assert (await customer.client.get(f"/products/{pid}?include_inactive=true")).status_code == 403
    url = "/products?page_size=3"
    assert (await client.get(url)).status_code == 200  # now cached
    bad = await client.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    refresh_as_access = await client.get(
        url, headers={"Authorization": f"Bearer {customer.refresh_token}"}
    )
    assert refresh_as_access.status_code == 401
    good = await customer.client.get(url)
    assert good.status_code == 200


async def test_encoded_admin_parameters_and_admin_tokens_never_fill_the_cache(
    client: httpx.AsyncClient, catalog: Catalog, customer: UserSession, admin: UserSession
) -> None:
    hidden = "Old Radio"  # inactive
    for url in ("/products?include%5Finactive=true", "/products?page_size=50"):
        as_admin = await admin.client.get(url)
        assert as_admin.status_code == 200
    leaked = await client.get("/products?include%5Finactive=true")
    assert leaked.status_code == 401
    for who in (client, customer.client):
        names = [p["name"] for p in (await who.get("/products?page_size=50")).json()["items"]]
        assert hidden not in names
    pid = catalog.id(hidden)
    url = f"/products/{pid}?include%5finactive=true"
    assert (await admin.client.get(url)).status_code == 200
    assert (await client.get(url)).status_code == 401
    assert (await customer.client.get(url)).status_code == 403


async def test_only_successes_are_kept_and_the_size_is_bounded(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    cache = _cache(app)
    cache.max_entries = 3
    assert (await client.get("/products/ffffffffffffffffffffffff")).status_code == 404
    assert (await client.get("/products?page=0")).status_code == 422
    assert len(cache._entries) == 0
    for size in range(1, 6):
        assert (await client.get(f"/products?page_size={size}")).status_code == 200
    assert len(cache._entries) == 3
    assert [key[1] for key in cache._entries] == [b"page_size=3", b"page_size=4", b"page_size=5"]


async def test_the_cache_is_bounded_in_bytes(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    cache = _cache(app)
    page = await client.get("/products?page_size=100&probe=0")
    size = len(page.content)
    cache._entries.clear()
    cache._bytes = 0
    cache.max_bytes = size * 16 * 3 // 2  # room for about 24 pages; none above 1/16 of it
    for index in range(60):
        assert (await client.get(f"/products?page_size=100&junk={index}")).status_code == 200
    assert cache._bytes <= cache.max_bytes
    assert cache._bytes == sum(len(entry.body) for entry in cache._entries.values())
    assert 0 < len(cache._entries) < 60
    cache.max_bytes = size * 8  # now one page is over 1/16 of the budget: not kept at all
    cache._entries.clear()
    cache._bytes = 0
    await client.get("/products?page_size=100&big=1")
    assert len(cache._entries) == 0


async def test_entries_expire_after_the_ttl(
    app: FastAPI,
    client: httpx.AsyncClient,
    catalog: Catalog,
    service: ProductService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shopkit_server.read_cache as read_cache

    clock = [1000.0]
    monkeypatch.setattr(read_cache.time, "monotonic", lambda: clock[0])
    pid = catalog.id("Television")
    assert (await client.get(f"/products/{pid}")).json()["stock"] == 2
    # A write the cache cannot see (another process sharing the store): straight to the store.
    await service.products.update(pid, ProductChanges(stock=9), utc_now())
    assert (await client.get(f"/products/{pid}")).json()["stock"] == 2  # within the TTL
    clock[0] += _cache(app).ttl + 0.01
    assert (await client.get(f"/products/{pid}")).json()["stock"] == 9


# The waiters' bound is wall time; a loaded machine may take seconds to run the eight requests of
# a test. Tests not about the bound wait as long as they need (the bound has its own test).
_PATIENT = 3600.0


class _Gated:
    """Wraps a service read: counts calls; the first one reads, then waits for ``gate``."""

    def __init__(self, original: Callable[..., Awaitable[object]], *, fail: bool = False) -> None:
        self.original = original
        self.fail = fail
        self.calls = 0
        self.gate = asyncio.Event()

    async def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        first = self.calls == 1  # counted before the read: a later call may start meanwhile
        result = await self.original(*args, **kwargs)
        if first:
            await self.gate.wait()
            if self.fail:
                raise RuntimeError("the first read fails")
        return result


async def _until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds (no timing: a bounded number of turns)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def _waiters(cache: CatalogReadCache, path: str) -> int:
    fills = [fill for (key, _), fill in cache._fills.items() if key.endswith(path)]
    return sum(fill.waiters for fill in fills)


async def test_concurrent_identical_misses_run_the_handler_once(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog, service: ProductService
) -> None:
    cache = _cache(app)
    cache.wait = _PATIENT
    gated = _Gated(service.list_products)
    service.list_products = gated  # type: ignore[method-assign]
    requests = [asyncio.create_task(client.get("/products?sort=price_asc")) for _ in range(8)]
    # All eight are in at once: one fills (held at the gate), seven wait for it.
    await _until(lambda: _waiters(cache, "/products") == 7)
    assert gated.calls == 1
    gated.gate.set()
    answers = await asyncio.gather(*requests)
    assert gated.calls == 1
    assert all(answer.status_code == 200 for answer in answers)
    assert len({answer.content for answer in answers}) == 1
    assert len({answer.headers["x-request-id"] for answer in answers}) == 8
    assert answers[0].json()["items"][0]["name"] == "Phone Case"


async def test_a_failing_or_cancelled_filler_does_not_poison_its_waiters(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog, service: ProductService
) -> None:
    cache = _cache(app)
    cache.wait = _PATIENT
    pid = catalog.id("Smartphone")
    failing = _Gated(service.get_product, fail=True)
    service.get_product = failing  # type: ignore[method-assign]
    filler = asyncio.create_task(client.get(f"/products/{pid}"))
    await _until(lambda: failing.calls == 1)
    waiters = [asyncio.create_task(client.get(f"/products/{pid}")) for _ in range(5)]
    await _until(lambda: _waiters(cache, pid) == 5)
    failing.gate.set()
    failed = await filler
    answers = await asyncio.gather(*waiters)
    assert failed.status_code == 500
    assert [answer.status_code for answer in answers] == [200] * 5  # the 500 was not shared
    assert {answer.json()["stock"] for answer in answers} == {10}
    assert failing.calls == 2  # one waiter took over, the other four waited for it

    url = "/products?sort=price_desc"
    service.list_products = listing = _Gated(service.list_products)  # type: ignore[method-assign]
    filler = asyncio.create_task(client.get(url))
    await _until(lambda: listing.calls == 1)
    waiters = [asyncio.create_task(client.get(url)) for _ in range(3)]
    await _until(lambda: _waiters(cache, "/products") == 3)
    filler.cancel()  # the filler's client goes away mid-read
    with pytest.raises(asyncio.CancelledError):
        await filler
    answers = await asyncio.gather(*waiters)
    assert [answer.status_code for answer in answers] == [200] * 3
    assert answers[0].json()["items"][0]["name"] == "Smartphone"
    assert listing.calls == 2  # one waiter took over
    assert cache._fills == {}


async def test_a_write_then_a_read_is_never_stale_even_while_a_refresh_runs(
    app: FastAPI,
    client: httpx.AsyncClient,
    catalog: Catalog,
    service: ProductService,
    admin: UserSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shopkit_server.read_cache as read_cache

    cache = _cache(app)
    cache.wait = _PATIENT
    clock = [1000.0]
    monkeypatch.setattr(read_cache.time, "monotonic", lambda: clock[0])
    pid = catalog.id("Television")
    assert (await client.get(f"/products/{pid}")).json()["stock"] == 2  # cached
    clock[0] += cache.ttl + cache.grace / 2  # expired, still within the grace
    refresh = _Gated(service.get_product)
    service.get_product = refresh  # type: ignore[method-assign]
    refreshing = asyncio.create_task(client.get(f"/products/{pid}"))
    await _until(lambda: refresh.calls == 1)  # the refresh has read stock 2, held at the gate
    assert (await client.get(f"/products/{pid}")).json()["stock"] == 2  # stale, in the grace
    patched = await admin.client.patch(f"/products/{pid}", json={"stock": 42})
    assert patched.status_code == 200
    # After this process's own write: neither the stale entry nor the refresh's (older) answer.
    after = await client.get(f"/products/{pid}")
    assert after.json()["stock"] == 42
    assert not refreshing.done() and refresh.calls == 2
    refresh.gate.set()
    assert (await refreshing).json()["stock"] == 2  # read before the write: its own answer
    # The older refresh, finishing last, did not replace the newer entry.
    assert (await client.get(f"/products/{pid}")).json()["stock"] == 42
    assert refresh.calls == 2


async def test_stale_entries_are_served_during_a_refresh_only_within_the_grace(
    app: FastAPI,
    client: httpx.AsyncClient,
    catalog: Catalog,
    service: ProductService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shopkit_server.read_cache as read_cache

    cache = _cache(app)
    cache.wait = _PATIENT
    clock = [1000.0]
    monkeypatch.setattr(read_cache.time, "monotonic", lambda: clock[0])
    pid = catalog.id("Television")
    url = f"/products/{pid}"
    assert (await client.get(url)).json()["stock"] == 2
    # Another process writes the store: only the TTL (plus the grace) bounds what is seen.
    await service.products.update(pid, ProductChanges(stock=9), utc_now())
    clock[0] += cache.ttl + 0.01
    refresh = _Gated(service.get_product)
    service.get_product = refresh  # type: ignore[method-assign]
    refreshing = asyncio.create_task(client.get(url))
    await _until(lambda: refresh.calls == 1)
    # One refresh runs; the others get the expired entry at once, without a read of their own.
    stale = await asyncio.gather(*(client.get(url) for _ in range(4)))
    assert {answer.json()["stock"] for answer in stale} == {2}
    assert refresh.calls == 1 and not refreshing.done()
    clock[0] += cache.grace  # now past TTL + grace: no longer served, waits for the refresh
    late = asyncio.create_task(client.get(url))
    await _until(lambda: _waiters(cache, pid) == 1)
    assert not late.done()
    refresh.gate.set()
    assert (await refreshing).json()["stock"] == 9
    assert (await late).json()["stock"] == 9
    assert refresh.calls == 1
    # Without a refresh in flight, an expired entry is never served: the request refreshes.
    await service.products.update(pid, ProductChanges(stock=7), utc_now())
    clock[0] += cache.ttl + 0.01
    assert (await client.get(url)).json()["stock"] == 7
    assert refresh.calls == 2


async def test_a_waiter_stops_waiting_for_a_stuck_fill_after_the_bound(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog, service: ProductService
) -> None:
    cache = _cache(app)
    cache.wait = 0.0  # the bound: here, no patience at all
    pid = catalog.id("Smartphone")
    stuck = _Gated(service.get_product)
    service.get_product = stuck  # type: ignore[method-assign]
    filler = asyncio.create_task(client.get(f"/products/{pid}"))
    await _until(lambda: stuck.calls == 1)
    alone = await client.get(f"/products/{pid}")  # answered while the fill is still held
    assert alone.status_code == 200 and alone.json()["stock"] == 10
    assert stuck.calls == 2 and not filler.done()
    stuck.gate.set()
    assert (await filler).status_code == 200


class _Counted:
    """Counts the service calls that reach the store (cache misses) per method."""

    def __init__(self, service: ProductService) -> None:
        self.ids: list[str] = []
        self.lists = 0
        get, listing = service.get_product, service.list_products

        async def get_product(product_id: str, **kwargs: bool) -> object:
            self.ids.append(product_id)
            return await get(product_id, **kwargs)

        async def list_products(*args: object, **kwargs: object) -> object:
            self.lists += 1
            return await listing(*args, **kwargs)  # type: ignore[arg-type]

        service.get_product = get_product  # type: ignore[assignment,method-assign]
        service.list_products = list_products  # type: ignore[method-assign]


async def test_a_write_to_one_product_keeps_the_other_products_cached(
    client: httpx.AsyncClient, catalog: Catalog, service: ProductService, admin: UserSession
) -> None:
    x, y = catalog.id("Wireless Headphones"), catalog.id("Smartphone")
    for url in (f"/products/{x}", f"/products/{y}", "/products", "/products/search?q=wireless"):
        assert (await client.get(url)).status_code == 200  # all four cached now
    counted = _Counted(service)

    # An order takes stock of X: X's read and every list are dropped, Y's read stays.
    await service.reserve_stock("order-x", [StockLine(product_id=x, quantity=2)])
    assert (await client.get(f"/products/{x}")).json()["stock"] == 3
    assert (await client.get(f"/products/{y}")).json()["stock"] == 10
    assert counted.ids == [x]  # Y came from the cache
    listed = (await client.get("/products")).json()["items"]
    assert [p["stock"] for p in listed if p["id"] == x] == [3]
    found = (await client.get("/products/search?q=wireless")).json()["items"]
    assert counted.lists == 2 and [p["stock"] for p in found if p["id"] == x] == [3]

    # An edit of X: the same.
    assert (await admin.client.patch(f"/products/{x}", json={"price": "79.00"})).status_code == 200
    assert (await client.get(f"/products/{x}")).json()["price"] == 79.0
    assert (await client.get(f"/products/{y}")).status_code == 200
    assert counted.ids == [x, x]

    # A new product or a soft delete of X: Y's read still stays.
    created = await admin.client.post(
        "/products", json={"name": "Tuner", "price": "5.00", "category": "Audio"}
    )
    assert created.status_code == 201
    assert (await admin.client.delete(f"/products/{x}")).status_code == 204
    assert (await client.get(f"/products/{x}")).status_code == 404
    assert (await client.get(f"/products/{y}")).status_code == 200
    assert counted.ids == [x, x, x]

    # A category rename shows in every product: that one drops them all.
    phones = catalog.categories["Phones"].id
    renamed = await admin.client.patch(f"/categories/{phones}", json={"name": "Mobiles"})
    assert renamed.status_code == 200
    assert (await client.get(f"/products/{y}")).json()["category"] == "Mobiles"
    assert counted.ids == [x, x, x, y]


async def test_a_checkout_drops_only_the_products_it_took_stock_of(
    client: httpx.AsyncClient, catalog: Catalog, service: ProductService, customer: UserSession
) -> None:
    x, y = catalog.id("Wireless Headphones"), catalog.id("Smartphone")
    for url in (f"/products/{x}", f"/products/{y}", "/products"):
        assert (await client.get(url)).status_code == 200  # all three cached now
    counted = _Counted(service)
    assert (await add(customer.client, x, 2)).status_code in (200, 201)
    placed = await checkout(customer.client)
    assert placed.status_code == 201, placed.text
    assert (await client.get(f"/products/{x}")).json()["stock"] == 3
    assert (await client.get(f"/products/{y}")).json()["stock"] == 10
    listed = (await client.get("/products")).json()["items"]
    assert [p["stock"] for p in listed if p["id"] == x] == [3]  # the list was dropped
    # Only X was read again (the cart's own product reads go through the service in-process).
    assert counted.ids.count(y) == 0 and counted.lists == 1
