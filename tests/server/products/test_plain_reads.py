"""Plain public reads (no query string, no token) skip dependency solving, with the same reply.

A request with a query string or a token goes through FastAPI's dependencies as before; a
plain one is answered by the function registered with ``routing.plain_read``. Both must give
byte-identical replies, money exact, and the plain one must not run FastAPI's dependency solving.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fastapi.routing
import httpx
import pytest

from shopkit_server.routing import _PLAIN_READS
from tests.server.products.conftest import Catalog


@pytest.fixture
def bearer_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """One entry per request whose dependencies FastAPI solved."""
    calls: list[int] = []
    original = fastapi.routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await original(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    yield calls


async def test_a_plain_product_read_is_the_same_bytes_without_dependency_solving(
    client: httpx.AsyncClient, catalog: Catalog, bearer_calls: list[int]
) -> None:
    product_id = catalog.id("Wireless Headphones")
    plain = await client.get(f"/products/{product_id}")
    assert bearer_calls == []  # answered by the plain path
    solved = await client.get(f"/products/{product_id}?include_inactive=false")
    assert bearer_calls == [1]  # a query string goes through the dependencies
    assert plain.status_code == solved.status_code == 200
    assert plain.content == solved.content
    assert plain.headers["content-type"] == solved.headers["content-type"]
    assert b'"price":99.99' in plain.content  # money written exactly, as a number


async def test_a_plain_listing_is_the_same_bytes(
    client: httpx.AsyncClient, catalog: Catalog, bearer_calls: list[int]
) -> None:
    plain = await client.get("/products")
    assert bearer_calls == []
    solved = await client.get("/products?page=1&page_size=20&sort=newest")
    assert plain.status_code == solved.status_code == 200
    assert plain.content == solved.content
    assert plain.json()["total"] == 8  # active products only


async def test_plain_reads_keep_their_errors(
    client: httpx.AsyncClient, catalog: Catalog, bearer_calls: list[int]
) -> None:
    inactive = await client.get(f"/products/{catalog.id('Old Radio')}")
    missing = await client.get("/products/not-an-id")
    assert bearer_calls == []
    assert inactive.status_code == missing.status_code == 404
    assert inactive.json() == missing.json()
    assert inactive.json()["code"] == "product_not_found"


async def test_a_token_takes_the_dependency_path(
    catalog: Catalog, admin: object, bearer_calls: list[int]
) -> None:
    client: httpx.AsyncClient = admin.client  # type: ignore[attr-defined]
    reply = await client.get(f"/products/{catalog.id('Old Radio')}")
    assert bearer_calls == [1]
    assert reply.status_code == 404  # still hidden without include_inactive=true


def test_only_public_reads_are_registered() -> None:
    assert {fn.__name__ for fn in _PLAIN_READS} == {
        "get_product",
        "list_products",
        "list_featured_products",
    }
