"""SHOPKIT_LOG request logging (never a secret), per-call options and raw responses (async)."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import respx

import shopkit
from shopkit import AsyncShopClient, _logs
from tests.sdk import payloads
from tests.sdk.payloads import BASE

PASSWORD = "a secret password 123"


@pytest.fixture
def sdk_log(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    logger = logging.getLogger("shopkit")
    before = (logger.level, list(logger.handlers))
    monkeypatch.setenv("SHOPKIT_LOG", "debug")
    _logs.setup_logging()
    caplog.set_level(logging.DEBUG, logger="shopkit")
    yield "debug"
    logger.setLevel(before[0])
    logger.handlers[:] = before[1]


async def test_requests_are_logged_without_tokens_or_passwords(
    sdk_log: str, api: respx.MockRouter, shop: AsyncShopClient, caplog: pytest.LogCaptureFixture
) -> None:
    api.post("/auth/login").respond(
        200,
        json={"user": payloads.user(), "tokens": payloads.tokens(1)},
        headers={"X-Request-ID": "req-login"},
    )
    api.get("/auth/me").mock(
        side_effect=[
            httpx.Response(503, json={"detail": "busy", "code": "store_unavailable"}),
            httpx.Response(200, json=payloads.user(), headers={"X-Request-ID": "req-me"}),
        ]
    )
    await shop.auth.login(email="ada@example.com", password=PASSWORD)
    await shop.auth.me()
    text = caplog.text
    assert f'HTTP POST {BASE}/auth/login "200 OK" request_id=req-login' in text
    assert f'HTTP GET {BASE}/auth/me "503 Service Unavailable"' in text
    assert f"Retrying GET {BASE}/auth/me in 0.50s (retry 1 of 2) after 503" in text
    assert f"Sending GET {BASE}/auth/me headers=" in text
    assert "'authorization': '<redacted>'" in text
    for secret in (PASSWORD, "access-1", "refresh-1"):
        assert secret not in text


def test_shopkit_log_info_writes_request_lines_to_stderr() -> None:
    code = (
        "import httpx, shopkit\n"
        "def answer(request):\n"
        "    return httpx.Response(200, json={'status': 'ok', 'service': 's', 'version': '1',"
        " 'database': 'ok'}, headers={'X-Request-ID': 'r-9'})\n"
        "http = httpx.Client(transport=httpx.MockTransport(answer))\n"
        "with shopkit.ShopClient(base_url='http://x/api', http_client=http,"
        " access_token='tok-secret') as shop:\n"
        "    shop.health()\n"
    )
    quiet = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": ""}, timeout=60
    )
    assert quiet.returncode == 0 and quiet.stderr == ""
    loud = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": "", "SHOPKIT_LOG": "info"},
        timeout=60,
    )
    assert loud.returncode == 0, loud.stderr
    assert 'HTTP GET http://x/api/health "200 OK" request_id=r-9' in loud.stderr
    assert "Sending" not in loud.stderr and "tok-secret" not in loud.stderr


async def test_extra_headers_and_timeout_apply_to_one_call(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    route = api.get("/categories").respond(200, json=[])
    await shop.categories.list(extra_headers={"X-Tenant": "t1"}, timeout=2.0)
    assert route.calls.last.request.headers["X-Tenant"] == "t1"
    assert route.calls.last.request.extensions["timeout"]["connect"] == 2.0
    await shop.categories.list()
    assert "X-Tenant" not in route.calls.last.request.headers


async def test_iterate_sends_the_extra_headers_with_every_page(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = [payloads.product(f"p{page}")]
        return httpx.Response(200, json=payloads.page(items, total=2, page=page, page_size=1))

    products = api.get("/products").mock(side_effect=handler)
    assert [p.id async for p in shop.products.iterate(page_size=1, extra_headers={"X-A": "1"})] == [
        "p1",
        "p2",
    ]
    assert [c.request.headers.get("X-A") for c in products.calls] == ["1", "1"]


async def test_own_idempotency_key_is_sent_on_checkout(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    route = api.post("/orders").respond(201, json=payloads.order())
    await shop.orders.create(shipping_address=payloads.ADDRESS, idempotency_key="order-42")
    assert route.calls.last.request.headers["Idempotency-Key"] == "order-42"


async def test_with_raw_response_async(api: respx.MockRouter, shop: AsyncShopClient) -> None:
    api.get("/products/p1").respond(
        200, json=payloads.product("p1"), headers={"X-Request-ID": "req-1", "ETag": '"v3"'}
    )
    raw = await shop.products.with_raw_response.get("p1")
    assert isinstance(raw, shopkit.APIResponse)
    assert (raw.status_code, raw.request_id, raw.headers["etag"]) == (200, "req-1", '"v3"')
    assert raw.parse().id == "p1" and str(raw.url) == f"{BASE}/products/p1"


async def test_raw_response_after_a_token_refresh_is_the_replayed_call(
    api: respx.MockRouter,
) -> None:
    api.get("/auth/me").mock(
        side_effect=[
            httpx.Response(401, json={"detail": "expired", "code": "invalid_token"}),
            httpx.Response(200, json=payloads.user(), headers={"X-Request-ID": "replayed"}),
        ]
    )
    api.post("/auth/refresh").respond(200, json=payloads.tokens(2))
    async with AsyncShopClient(base_url=BASE, access_token="a", refresh_token="r") as shop:
        raw = await shop.auth.with_raw_response.me()
    assert raw.request_id == "replayed" and raw.parse().id == "u1"
