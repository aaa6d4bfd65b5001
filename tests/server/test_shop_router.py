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
