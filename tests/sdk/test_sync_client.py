"""``shopkit.ShopClient``: the sync client has the async one's resources, types, errors,
retries, token refresh and pagination (respx-mocked; the live flow is test_sync_live.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
import respx

import shopkit
from shopkit import ShopClient, SyncPage
from shopkit._sync import _base_client as sync_base
from shopkit.types import Product, TokenPair
from tests.sdk import payloads
from tests.sdk.payloads import BASE


@pytest.fixture(autouse=True)
def sync_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []
    monkeypatch.setattr(sync_base, "_sleep", delays.append)
    # (jitter is pinned to 0 by tests/sdk/conftest.py: backoff is shared by both clients)
    return delays


@pytest.fixture
def sync_shop(api: respx.MockRouter) -> Iterator[ShopClient]:
    with ShopClient(base_url=BASE) as client:
        yield client


def _pages(api: respx.MockRouter, total: int) -> respx.Route:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        size = int(request.url.params.get("page_size", "20"))
        start = (page - 1) * size
        items = [payloads.product(f"p{i}") for i in range(start, min(start + size, total))]
        return httpx.Response(
            200, json=payloads.page(items, total=total, page=page, page_size=size)
        )

    return api.get("/products").mock(side_effect=handler)


def test_list_is_a_typed_page_with_exact_money(
    api: respx.MockRouter, sync_shop: ShopClient
) -> None:
    _pages(api, total=3)
    page = sync_shop.products.list(category="Audio", max_price=Decimal("100"))
    assert isinstance(page, SyncPage)
    assert isinstance(page.items[0], Product)
    assert page.items[0].price == Decimal("99.99")
    request = api.calls.last.request
    assert request.url.params["category"] == "Audio"
    assert request.url.params["max_price"] == "100"


def test_iterate_and_next_page_fetch_lazily(api: respx.MockRouter, sync_shop: ShopClient) -> None:
    route = _pages(api, total=5)
    walked = sync_shop.products.iterate(page_size=2)
    assert route.call_count == 0  # nothing fetched before the loop asks
    assert next(walked).id == "p0"
    assert route.call_count == 1
    assert [p.id for p in walked] == ["p1", "p2", "p3", "p4"]
    assert route.call_count == 3
    first = sync_shop.products.list(page_size=4)
    second = first.next_page()
    assert second is not None and [p.id for p in second.items] == ["p4"]
    assert second.next_page() is None


def test_errors_map_to_the_same_classes(api: respx.MockRouter, sync_shop: ShopClient) -> None:
    api.get("/products/nope").respond(
        404,
        json={"detail": "Product not found.", "code": "product_not_found"},
        headers={"X-Request-ID": "req-404"},
    )
    with pytest.raises(shopkit.ProductNotFoundError) as caught:
        sync_shop.products.get("nope")
    assert caught.value.status_code == 404 and caught.value.request_id == "req-404"
    assert isinstance(caught.value, shopkit.NotFoundError)


def test_reads_are_retried_with_backoff(
    api: respx.MockRouter, sync_shop: ShopClient, sync_sleeps: list[float]
) -> None:
    route = api.get("/products/p1").mock(
        side_effect=[
            httpx.Response(503, json={"detail": "busy", "code": "store_unavailable"}),
            httpx.ConnectError("refused"),
            httpx.Response(200, json=payloads.product("p1")),
        ]
    )
    assert sync_shop.products.get("p1").id == "p1"
    assert route.call_count == 3
    assert sync_sleeps == [0.5, 1.0]


def test_a_post_without_key_is_not_repeated(
    api: respx.MockRouter, sync_shop: ShopClient, sync_sleeps: list[float]
) -> None:
    route = api.post("/cart/items").respond(503, json={"detail": "busy", "code": "x"})
    with pytest.raises(shopkit.ServiceUnavailableError):
        sync_shop.cart.add_item("p1", quantity=1)
    assert route.call_count == 1 and sync_sleeps == []


def test_checkout_retries_reuse_one_idempotency_key(
    api: respx.MockRouter, sync_shop: ShopClient
) -> None:
    route = api.post("/orders").mock(
        side_effect=[httpx.Response(502), httpx.Response(201, json=payloads.order("o1"))]
    )
    order = sync_shop.orders.create(shipping_address=payloads.ADDRESS)
    assert order.id == "o1" and order.total == Decimal(str(payloads.order()["total"]))
    keys = {call.request.headers["Idempotency-Key"] for call in route.calls}
    assert route.call_count == 2 and len(keys) == 1


def test_expired_token_is_refreshed_and_replayed(api: respx.MockRouter) -> None:
    seen: list[TokenPair] = []
    me = api.get("/auth/me").mock(
        side_effect=lambda request: (
            httpx.Response(200, json=payloads.user())
            if request.headers.get("Authorization") == "Bearer access-2"
            else httpx.Response(401, json={"detail": "expired", "code": "invalid_token"})
        )
    )
    refresh = api.post("/auth/refresh").respond(200, json=payloads.tokens(2))
    with ShopClient(
        base_url=BASE, access_token="access-1", refresh_token="refresh-1", on_tokens=seen.append
    ) as shop:
        assert shop.auth.me().email == "ada@example.com"
        assert shop.access_token == "access-2"
    assert me.call_count == 2 and refresh.call_count == 1
    assert json.loads(refresh.calls.last.request.content) == {"refresh_token": "refresh-1"}
    assert [t.access_token for t in seen] == ["access-2"]


def test_login_keeps_the_tokens(api: respx.MockRouter, sync_shop: ShopClient) -> None:
    api.post("/auth/login").respond(
        200, json={"user": payloads.user(), "tokens": payloads.tokens(1)}
    )
    me = api.get("/auth/me").respond(200, json=payloads.user())
    sync_shop.auth.login(email="ada@example.com", password="pw-123456")
    sync_shop.auth.me()
    assert me.calls.last.request.headers["Authorization"] == "Bearer access-1"
    assert "access-1" not in repr(sync_shop)


def test_extra_headers_and_timeout_per_call(api: respx.MockRouter, sync_shop: ShopClient) -> None:
    route = api.get("/products/p1").respond(200, json=payloads.product("p1"))
    sync_shop.products.get("p1", extra_headers={"X-Trace": "abc"}, timeout=3.5)
    request = route.calls.last.request
    assert request.headers["X-Trace"] == "abc"
    assert request.extensions["timeout"]["read"] == 3.5
    sync_shop.products.get("p1")
    assert "X-Trace" not in route.calls.last.request.headers  # for that one call only


def test_with_raw_response_gives_status_headers_and_the_parsed_result(
    api: respx.MockRouter, sync_shop: ShopClient
) -> None:
    api.post("/cart/items").respond(
        201,
        json={
            "user_id": "u1",
            "items": [],
            "subtotal": 0,
            "total_items": 0,
            "updated_at": payloads.NOW,
        },
        headers={"X-Request-ID": "req-7", "X-Extra": "yes"},
    )
    raw = sync_shop.cart.with_raw_response.add_item("p1", quantity=1)
    assert isinstance(raw, shopkit.APIResponse)
    assert raw.status_code == 201 and raw.request_id == "req-7"
    assert raw.headers["x-extra"] == "yes"
    assert raw.parse().total_items == 0
    with pytest.raises(AttributeError):
        _ = sync_shop.products.with_raw_response.iterate


def test_health_reports_a_degraded_service(api: respx.MockRouter, sync_shop: ShopClient) -> None:
    api.get("/health").respond(
        503,
        json={
            "status": "degraded",
            "service": "shopkit",
            "version": "1",
            "database": "unavailable",
        },
    )
    assert sync_shop.health().database == "unavailable"


def test_with_options_shares_tokens_and_connections(api: respx.MockRouter) -> None:
    route = api.get("/auth/me").respond(200, json=payloads.user())
    with ShopClient(base_url=BASE, access_token="tok") as shop:
        patient = shop.with_options(max_retries=5, timeout=60)
        assert isinstance(patient, ShopClient) and patient.max_retries == 5
        patient.auth.me()
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok"
