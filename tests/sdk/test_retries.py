"""Retry rules: which failures, which requests, how many times, how long apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

import shopkit
from shopkit import AsyncShopClient
from shopkit._base_client import backoff_delay, parse_retry_after
from tests.sdk import payloads
from tests.sdk.payloads import ADDRESS, BASE


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_retryable_statuses_are_retried_then_succeed(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float], status: int
) -> None:
    route = api.get("/products/p1").mock(
        side_effect=[httpx.Response(status), httpx.Response(200, json=payloads.product())]
    )
    product = await shop.products.get("p1")
    assert product.id == "p1"
    assert route.call_count == 2
    assert sleeps == [0.5]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500, 501])
async def test_other_statuses_are_not_retried(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float], status: int
) -> None:
    route = api.get("/products/p1").respond(status, json={"detail": "no", "code": "x"})
    with pytest.raises(shopkit.APIStatusError):
        await shop.products.get("p1")
    assert route.call_count == 1
    assert sleeps == []


async def test_default_is_two_retries_with_exponential_backoff(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    route = api.get("/products/p1").respond(503, json={"detail": "down", "code": "x"})
    with pytest.raises(shopkit.ServiceUnavailableError):
        await shop.products.get("p1")
    assert route.call_count == 3  # 1 try + 2 retries
    assert sleeps == [0.5, 1.0]


async def test_max_retries_per_client(api: respx.MockRouter, sleeps: list[float]) -> None:
    route = api.get("/cart").respond(502)
    async with AsyncShopClient(base_url=BASE, max_retries=5, access_token="t") as shop:
        with pytest.raises(shopkit.InternalServerError):
            await shop.cart.get()
    assert route.call_count == 6
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


async def test_backoff_is_capped(api: respx.MockRouter, sleeps: list[float]) -> None:
    api.get("/cart").respond(502)
    async with AsyncShopClient(base_url=BASE, max_retries=7, access_token="t") as shop:
        with pytest.raises(shopkit.InternalServerError):
            await shop.cart.get()
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


async def test_max_retries_per_call_with_options(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    route = api.get("/cart").respond(504)
    with pytest.raises(shopkit.InternalServerError):
        await shop.with_options(max_retries=0).cart.get()
    assert route.call_count == 1
    route.reset()
    with pytest.raises(shopkit.InternalServerError):
        await shop.with_options(max_retries=3).cart.get()
    assert route.call_count == 4
    # The original client is unchanged.
    route.reset()
    with pytest.raises(shopkit.InternalServerError):
        await shop.cart.get()
    assert route.call_count == 3


def test_jitter_shortens_delays_by_at_most_a_quarter(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopkit import _wire

    monkeypatch.setattr(_wire, "_random", lambda: 0.999)
    assert 0.375 < backoff_delay(0) <= 0.5
    assert 6.0 < backoff_delay(10) <= 8.0


async def test_retry_after_seconds_is_honoured(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    api.get("/products/p1").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(503, headers={"Retry-After": "1.5"}),
            httpx.Response(200, json=payloads.product()),
        ]
    )
    await shop.products.get("p1")
    assert sleeps == [7.0, 1.5]


async def test_retry_after_http_date_is_honoured(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    api.get("/products/p1").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": format_datetime(when, usegmt=True)}),
            httpx.Response(200, json=payloads.product()),
        ]
    )
    await shop.products.get("p1")
    assert len(sleeps) == 1
    assert 27 <= sleeps[0] <= 30


async def test_retry_after_beyond_the_cap_goes_to_the_caller(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    route = api.get("/products/p1").respond(
        429, json={"detail": "Come back tomorrow."}, headers={"Retry-After": "86400"}
    )
    with pytest.raises(shopkit.RateLimitError) as info:
        await shop.products.get("p1")
    assert route.call_count == 1
    assert sleeps == []
    assert info.value.retry_after == 86400.0


def test_parse_retry_after() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "-3"})) == 0.0
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": past})) == 0.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert parse_retry_after(httpx.Headers({"Retry-After": "nan"})) is None
    assert parse_retry_after(httpx.Headers()) is None


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow connect"),
        httpx.ReadTimeout("slow read"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("server hung up"),
    ],
)
async def test_transport_errors_are_retried_on_gets(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float], error: Exception
) -> None:
    route = api.get("/products/p1").mock(
        side_effect=[error, httpx.Response(200, json=payloads.product())]
    )
    await shop.products.get("p1")
    assert route.call_count == 2
    assert sleeps == [0.5]


async def test_transport_errors_exhaust_retries(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    route = api.get("/products/p1").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(shopkit.APITimeoutError):
        await shop.products.get("p1")
    assert route.call_count == 3
    assert sleeps == [0.5, 1.0]


async def test_a_bad_url_is_not_retried(sleeps: list[float]) -> None:
    async with AsyncShopClient(base_url="localhost:8000/api") as shop:
        with pytest.raises(shopkit.APIConnectionError):
            await shop.health()
        with pytest.raises(shopkit.APIConnectionError):
            await shop.cart.get()
    assert sleeps == []


# -- non-idempotent requests ----------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_post_without_idempotency_key_is_not_retried(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float], status: int
) -> None:
    route = api.post("/cart/items").respond(status)
    with pytest.raises(shopkit.APIStatusError):
        await shop.cart.add_item("p1", quantity=1)
    assert route.call_count == 1
    assert sleeps == []


async def test_post_and_patch_are_not_retried_after_they_may_have_been_sent(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    post = api.post("/cart/items").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(shopkit.APITimeoutError):
        await shop.cart.add_item("p1")
    assert post.call_count == 1
    patch = api.patch("/orders/o1/status").mock(side_effect=httpx.ReadError("reset"))
    with pytest.raises(shopkit.APIConnectionError):
        await shop.orders.update_status("o1", status="confirmed")
    assert patch.call_count == 1
    assert sleeps == []


async def test_post_is_retried_when_the_connection_was_never_made(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    # A refused connection means the server never saw the request: repeating it is safe.
    cart = {"items": [], "total_items": 0, "subtotal": 0, "updated_at": None}
    route = api.post("/cart/items").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=cart)]
    )
    await shop.cart.add_item("p1")
    assert route.call_count == 2
    assert sleeps == [0.5]


async def test_checkout_retries_reuse_one_generated_idempotency_key(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    route = api.post("/orders").mock(
        side_effect=[
            httpx.ReadTimeout("the first attempt may have placed the order"),
            httpx.Response(503),
            httpx.Response(201, json=payloads.order()),
        ]
    )
    order = await shop.orders.create(shipping_address=ADDRESS)
    assert order.id == "o1"
    assert route.call_count == 3
    keys = {call.request.headers["Idempotency-Key"] for call in route.calls}
    assert len(keys) == 1
    (key,) = keys
    assert len(key) == 36  # a uuid4
    assert sleeps == [0.5, 1.0]


async def test_each_checkout_gets_its_own_key(api: respx.MockRouter, shop: AsyncShopClient) -> None:
    route = api.post("/orders").respond(201, json=payloads.order())
    await shop.orders.create(shipping_address=ADDRESS)
    await shop.orders.create(shipping_address=ADDRESS)
    first, second = (c.request.headers["Idempotency-Key"] for c in route.calls)
    assert first != second


async def test_callers_idempotency_key_is_sent_and_reused(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    route = api.post("/orders").mock(
        side_effect=[httpx.Response(502), httpx.Response(201, json=payloads.order())]
    )
    await shop.orders.create(
        shipping_address=shopkit.types.Address(**ADDRESS), idempotency_key="my-key-1"
    )
    assert [c.request.headers["Idempotency-Key"] for c in route.calls] == ["my-key-1"] * 2
    # The body carries the address, without unset optional fields.
    body = route.calls.last.request.content
    assert b'"address_line2"' not in body and b'"city":"Karachi"' in body


async def test_delete_is_idempotent_and_retried(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    route = api.delete("/products/p1").mock(side_effect=[httpx.Response(503), httpx.Response(204)])
    assert await shop.products.delete("p1") is None
    assert route.call_count == 2


async def test_checkout_still_in_progress_is_retried_with_the_same_key(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    busy = {"detail": "Still being processed.", "code": "idempotency_key_in_progress"}
    route = api.post("/orders").mock(
        side_effect=[httpx.Response(409, json=busy), httpx.Response(201, json=payloads.order())]
    )
    await shop.orders.create(shipping_address=ADDRESS)
    assert route.call_count == 2
    assert sleeps == [0.5]
    first, second = (c.request.headers["Idempotency-Key"] for c in route.calls)
    assert first == second


async def test_other_conflicts_are_not_retried(
    api: respx.MockRouter, shop: AsyncShopClient, sleeps: list[float]
) -> None:
    route = api.post("/orders").respond(
        409, json={"detail": "Not enough stock.", "code": "insufficient_stock"}
    )
    with pytest.raises(shopkit.InsufficientStockError):
        await shop.orders.create(shipping_address=ADDRESS)
    assert route.call_count == 1 and sleeps == []
