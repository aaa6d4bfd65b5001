"""ShopRouter turns away paths that cannot be its routes; what it lets through routes as before."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Match

from shopkit_server.routing import ShopRouter


def _app() -> FastAPI:
    items = ShopRouter(prefix="/items")

    @items.get("/{item_id}")
    async def get_item(item_id: str) -> dict[str, str]:
        return {"item": item_id}

    @items.post("")
    async def add_item() -> dict[str, str]:
        return {"added": "yes"}

    # Composite routers without a prefix of their own, as the shop's services are built.
    outer = ShopRouter()
    outer.include_router(items)
    app = FastAPI()
    app.include_router(outer, prefix="/api")
    return app


def test_a_path_without_the_prefix_is_no_match() -> None:
    router = ShopRouter(prefix="/items")
    assert router.matches({"type": "http", "path": "/api/cart", "method": "GET"}) == (
        Match.NONE,
        {},
    )


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("GET", "/api/items/abc", 200, {"item": "abc"}),
        ("POST", "/api/items", 200, {"added": "yes"}),
        ("DELETE", "/api/items/abc", 405, None),  # a partial match still answers 405
        ("GET", "/api/other/abc", 404, None),
        ("GET", "/items/abc", 404, None),  # the prefix alone is not enough: the route is /api/...
    ],
)
async def test_routes_behind_the_filter_answer_as_before(
    method: str, path: str, status: int, body: dict[str, str] | None
) -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        reply = await client.request(method, path)
    assert reply.status_code == status
    if body is not None:
        assert reply.json() == body


async def test_a_router_of_plain_paths_passes_over_paths_that_end_otherwise() -> None:
    collection = ShopRouter(prefix="/items")

    @collection.get("")
    async def list_items() -> dict[str, str]:
        return {"list": "all"}

    @collection.get("/search")
    async def search() -> dict[str, str]:
        return {"list": "found"}

    one = ShopRouter(prefix="/items")

    @one.get("/{item_id}")
    async def get_item(item_id: str) -> dict[str, str]:
        return {"item": item_id}

    health = ShopRouter()  # no prefix: the shop's health routes, all plain paths

    @health.get("/health")
    async def top() -> dict[str, str]:
        return {"at": "top"}

    @health.get("/api/items/health")
    async def items_health() -> dict[str, str]:
        return {"at": "items"}

    http = {"type": "http", "method": "GET"}
    assert collection.matches({**http, "path": "/api/items/abc"}) == (Match.NONE, {})
    assert collection.matches({**http, "path": "/api/items/searches"}) == (Match.NONE, {})
    assert health.matches({**http, "path": "/api/items/x"}) == (Match.NONE, {})
    app = FastAPI()
    app.include_router(health)  # first, as the shop includes it
    for router in (collection, one):
        app.include_router(router, prefix="/api")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        # "/api/items/health" is the health route, not item "health".
        assert (await client.get("/api/items/health")).json() == {"at": "items"}
        assert (await client.get("/health")).json() == {"at": "top"}
        assert (await client.get("/api/items")).json() == {"list": "all"}
        assert (await client.get("/api/items/search")).json() == {"list": "found"}
        assert (await client.get("/api/items/abc")).json() == {"item": "abc"}
        assert (await client.post("/api/items/search")).status_code == 405
        redirected = await client.get("/api/items/search/", follow_redirects=False)
        assert redirected.status_code == 307
    # A parameter among its routes: no such test applies (it still matches what it has).
    assert one._plain() is None
    collection.add_api_route("/{item_id}/tags", get_item, methods=["GET"])
    assert collection._plain() is None
