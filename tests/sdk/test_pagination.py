"""Pages and lazy iteration over every page."""

from __future__ import annotations

import httpx
import respx

from shopkit import AsyncPage, AsyncShopClient
from shopkit.types import Product
from tests.sdk import payloads


def _catalog_route(api: respx.MockRouter, total: int) -> respx.Route:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        size = int(request.url.params.get("page_size", "20"))
        start = (page - 1) * size
        items = [payloads.product(f"p{i}") for i in range(start, min(start + size, total))]
        return httpx.Response(
            200, json=payloads.page(items, total=total, page=page, page_size=size)
        )

    return api.get("/products").mock(side_effect=handler)


async def test_list_returns_a_typed_page(api: respx.MockRouter, shop: AsyncShopClient) -> None:
    _catalog_route(api, total=45)
    page = await shop.products.list(page=2, page_size=20)
    assert isinstance(page, AsyncPage)
    assert [p.id for p in page.items][:2] == ["p20", "p21"]
    assert all(isinstance(p, Product) for p in page.items)
    assert (page.total, page.page, page.page_size, page.has_next) == (45, 2, 20, True)


async def test_next_page_follows_with_the_same_filters(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    route = _catalog_route(api, total=25)
    first = await shop.products.list(
        category="Electronics", tags=["audio", "wireless"], page_size=20
    )
    second = await first.next_page()
    assert second is not None and second.page == 2 and len(second.items) == 5
    assert await second.next_page() is None
    params = route.calls.last.request.url.params
    assert params["category"] == "Electronics"
    assert params.get_list("tags") == ["audio", "wireless"]
    assert params["page"] == "2"


async def test_iterate_walks_every_page_lazily(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    route = _catalog_route(api, total=250)
    iterator = shop.products.iterate(in_stock=True)
    assert route.call_count == 0  # nothing is fetched before the loop asks
    seen: list[str] = []
    async for product in iterator:
        seen.append(product.id)
        if len(seen) == 100:
            assert route.call_count == 1  # the second page only when the first is used up
    assert seen == [f"p{i}" for i in range(250)]
    assert route.call_count == 3
    assert [c.request.url.params["page"] for c in route.calls] == ["1", "2", "3"]
    assert all(c.request.url.params["page_size"] == "100" for c in route.calls)
    assert all(c.request.url.params["in_stock"] == "true" for c in route.calls)


async def test_breaking_out_early_fetches_no_more(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    route = _catalog_route(api, total=1000)
    async for product in shop.products.iterate(page_size=10):
        if product.id == "p3":
            break
    assert route.call_count == 1


async def test_an_empty_page_ends_the_walk_even_if_has_next_lies(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    bogus = payloads.page([], total=10) | {"has_next": True}
    route = api.get("/orders").respond(200, json=bogus)
    orders = [o async for o in shop.orders.iterate()]
    assert orders == []
    assert route.call_count == 1


async def test_orders_and_users_iterate_too(api: respx.MockRouter, shop: AsyncShopClient) -> None:
    def orders(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = [payloads.order(f"o{page}")]
        return httpx.Response(200, json=payloads.page(items, total=2, page=page, page_size=1))

    route = api.get("/orders").mock(side_effect=orders)
    got = [o.id async for o in shop.orders.iterate(status="pending", all=True, page_size=1)]
    assert got == ["o1", "o2"]
    params = route.calls.last.request.url.params
    assert params["status"] == "pending" and params["all"] == "true"

    users = api.get("/auth/users").respond(200, json=payloads.page([payloads.user()], total=1))
    assert [u.id async for u in shop.users.iterate(q="ada")] == ["u1"]
    assert users.calls.last.request.url.params["q"] == "ada"
