"""Client construction, request shapes and lifecycle (mocked transport)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

import shopkit
from shopkit import NOT_GIVEN, AsyncShopClient
from tests.sdk import payloads
from tests.sdk.payloads import BASE


def test_base_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AsyncShopClient().base_url == "http://localhost:8000/api"
    monkeypatch.setenv("SHOPKIT_BASE_URL", "http://env.test/api/")
    assert AsyncShopClient().base_url == "http://env.test/api"
    given = httpx.AsyncClient(base_url="http://given.test/api")
    assert AsyncShopClient(http_client=given).base_url == "http://given.test/api"
    assert AsyncShopClient(base_url="http://arg.test/api", http_client=given).base_url == (
        "http://arg.test/api"
    )


def test_negative_max_retries_is_refused() -> None:
    with pytest.raises(ValueError):
        AsyncShopClient(max_retries=-1)


async def test_closes_only_the_http_client_it_created() -> None:
    async with AsyncShopClient(base_url=BASE) as own:
        inner = own._http
    assert inner.is_closed
    mine = httpx.AsyncClient()
    async with AsyncShopClient(base_url=BASE, http_client=mine):
        pass
    assert not mine.is_closed
    await mine.aclose()


async def test_with_options_copy_does_not_close_the_shared_pool() -> None:
    async with AsyncShopClient(base_url=BASE) as shop:
        await shop.with_options(timeout=1).aclose()
        assert not shop._http.is_closed


async def test_headers_and_timeout(api: respx.MockRouter) -> None:
    route = api.get("/cart").respond(
        200, json={"items": [], "total_items": 0, "subtotal": 0, "updated_at": None}
    )
    async with AsyncShopClient(
        base_url=BASE, access_token="t", timeout=12.0, default_headers={"X-Tenant": "acme"}
    ) as shop:
        await shop.cart.get()
        await shop.with_options(timeout=3.0).cart.get()
    first, second = (c.request for c in route.calls)
    assert first.headers["User-Agent"].startswith("shopkit-python/")
    assert first.headers["Accept"] == "application/json"
    assert first.headers["X-Tenant"] == "acme"
    assert "content-type" not in first.headers  # no body, no content type
    assert first.extensions["timeout"]["read"] == 12.0
    assert second.extensions["timeout"]["read"] == 3.0


async def test_ids_cannot_escape_their_path_segment(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    route = api.get(url__regex=r".*").respond(
        404, json={"detail": "Not found.", "code": "not_found"}
    )
    with pytest.raises(shopkit.NotFoundError):
        await shop.products.get("../orders/x")
    assert route.calls.last.request.url.raw_path == b"/api/products/..%2Forders%2Fx"
    with pytest.raises(ValueError):
        await shop.orders.get("")


async def test_partial_update_sends_only_given_fields(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    route = api.patch("/products/p1").respond(200, json=payloads.product())
    await shop.products.update("p1", stock=3)
    assert json.loads(route.calls.last.request.content) == {"stock": 3}
    # None is a value ("clear the image"); NOT_GIVEN is "leave it alone".
    await shop.products.update("p1", image_url=None, description=NOT_GIVEN)
    assert json.loads(route.calls.last.request.content) == {"image_url": None}

    cat = api.patch("/categories/c1").respond(
        200, json={"id": "c1", "name": "Audio", "slug": "audio", "parent_id": None, "sort_order": 0}
    )
    await shop.categories.update("c1", parent_id=None)
    assert json.loads(cat.calls.last.request.content) == {"parent_id": None}


async def test_list_filters_become_query_parameters(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    route = api.get("/products/search").respond(200, json=payloads.page([], total=0))
    await shop.products.search(
        "wireless headphones", tags="audio", in_stock=False, sort="price_desc", page=3, page_size=50
    )
    params = route.calls.last.request.url.params
    assert params["q"] == "wireless headphones"
    assert params.get_list("tags") == ["audio"]  # a lone string is one tag, not letters
    assert params["in_stock"] == "false"
    assert params["sort"] == "price_desc"
    assert (params["page"], params["page_size"]) == ("3", "50")
    assert "category" not in params and "featured" not in params


async def test_health_reports_degraded_instead_of_raising(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    body = {"status": "degraded", "service": "shopkit", "version": "1", "database": "unavailable"}
    route = api.get("/health").respond(503, json=body)
    health = await shop.health()
    assert not health.ok and health.database == "unavailable"
    assert route.call_count == 1 and sleeps == []
    # A 503 that is not a health body (a gateway page) is still an error.
    api.get("/health").respond(503, text="Service Unavailable")
    with pytest.raises(shopkit.ServiceUnavailableError):
        await shop.health()


async def test_bulk_sends_rows_and_reads_the_report(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    from decimal import Decimal

    route = api.post("/products/bulk").respond(
        200,
        json={
            "created": 1,
            "updated": 1,
            "failed": [{"index": 2, "sku": "BAD", "detail": "Unknown category."}],
        },
    )
    report = await shop.products.bulk(
        [
            {"sku": "A", "name": "A", "price": Decimal("1.10"), "category": "X"},
            {"sku": "B", "name": "B", "price": "2", "category": "X"},
            {"sku": "BAD", "name": "C", "price": 3, "category": "Nope"},
        ]
    )
    assert (report.created, report.updated) == (1, 1)
    assert report.failed[0].index == 2 and report.failed[0].sku == "BAD"
    assert route.calls.last.request.content.startswith(b'[{"sku":"A","name":"A","price":1.10')
