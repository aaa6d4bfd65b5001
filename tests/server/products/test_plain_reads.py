"""Plain public reads (no query string, no token) skip dependency solving, with the same reply.

A request with a query string or a token goes through FastAPI's dependencies as before; a
plain one is answered by the function registered with ``routing.plain_read``. Both must give
byte-identical replies, money exact, and the plain one must not run FastAPI's dependency solving.
"""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Request
from starlette.types import Receive, Scope, Send

from shopkit_server.deps import OWN_APP_SCOPE_KEY
from shopkit_server.routing import _PLAIN_READS, ShopRouter, plain_read
from tests.server.products.conftest import Catalog


async def test_a_plain_product_read_is_the_same_bytes_without_dependency_solving(
    client: httpx.AsyncClient, catalog: Catalog, solved: list[int]
) -> None:
    product_id = catalog.id("Wireless Headphones")
    plain = await client.get(f"/products/{product_id}")
    assert solved == []  # answered by the plain path
    via_fastapi = await client.get(f"/products/{product_id}?include_inactive=false")
    assert solved == [1]  # a query string goes through the dependencies
    assert plain.status_code == via_fastapi.status_code == 200
    assert plain.content == via_fastapi.content
    assert plain.headers["content-type"] == via_fastapi.headers["content-type"]
    assert b'"price":99.99' in plain.content  # money written exactly, as a number


async def test_a_plain_listing_is_the_same_bytes(
    client: httpx.AsyncClient, catalog: Catalog, solved: list[int]
) -> None:
    plain = await client.get("/products")
    assert solved == []
    via_fastapi = await client.get("/products?page=1&page_size=20&sort=newest")
    assert plain.status_code == via_fastapi.status_code == 200
    assert plain.content == via_fastapi.content
    assert plain.json()["total"] == 8  # active products only


async def test_plain_reads_keep_their_errors(
    client: httpx.AsyncClient, catalog: Catalog, solved: list[int]
) -> None:
    inactive = await client.get(f"/products/{catalog.id('Old Radio')}")
    missing = await client.get("/products/not-an-id")
    assert solved == []
    assert inactive.status_code == missing.status_code == 404
    assert inactive.json() == missing.json()
    assert inactive.json()["code"] == "product_not_found"


async def test_a_token_takes_the_dependency_path(
    catalog: Catalog, admin: object, solved: list[int]
) -> None:
    client: httpx.AsyncClient = admin.client  # type: ignore[attr-defined]
    reply = await client.get(f"/products/{catalog.id('Old Radio')}")
    assert solved == [1]
    assert reply.status_code == 404  # still hidden without include_inactive=true


def test_only_public_reads_are_registered() -> None:
    assert {fn.__name__ for fn in _PLAIN_READS} == {
        "get_product",
        "list_products",
        "list_featured_products",
    }


async def source() -> str:  # module level: the annotations below are strings
    return "real"


async def test_an_app_dependency_override_of_an_included_route_is_not_answered_plain() -> None:
    # The app's overrides are those of the route FastAPI builds for the app (the included one).
    router = ShopRouter(prefix="/p")

    @router.get("/x", response_model=dict[str, str])
    async def read(value: Annotated[str, Depends(source)]) -> dict[str, str]:
        return {"value": value}

    @plain_read(read)
    async def _plain(request: Request) -> dict[str, str]:
        return {"value": "plain"}

    app = FastAPI()
    app.include_router(router)

    async def stand_in() -> str:
        return "override"

    app.dependency_overrides[source] = stand_in

    async def own(scope: Scope, receive: Receive, send: Send) -> None:
        scope[OWN_APP_SCOPE_KEY] = True  # as the shop's own app marks its requests
        await app(scope, receive, send)

    transport = httpx.ASGITransport(app=own)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        reply = await client.get("/p/x")
    assert reply.json() == {"value": "override"}
    app.dependency_overrides.clear()
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        reply = await client.get("/p/x")
    assert reply.json() == {"value": "plain"}  # without one, the plain path answers
