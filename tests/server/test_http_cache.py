"""Catalog GETs are cacheable (strong ETag, Cache-Control, 304); user data never is; gzip."""

from __future__ import annotations

import gzip

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopkit_server.http_cache import (
    GZIP_MIN_BYTES,
    ITEM_MAX_AGE,
    LIST_MAX_AGE,
    PRIVATE,
    HttpCache,
)
from tests.conftest import UserSession
from tests.server.cart.shop import Shop, add


async def test_a_repeated_catalog_get_with_if_none_match_is_a_304(
    client: httpx.AsyncClient, admin: UserSession
) -> None:
    shop = Shop(admin.client)
    product = await shop.product()
    for path, max_age in (
        (f"/products/{product['id']}", ITEM_MAX_AGE),
        ("/products", LIST_MAX_AGE),
    ):
        first = await client.get(path)
        assert first.status_code == 200
        etag = first.headers["etag"]
        assert etag.startswith('"') and not etag.startswith("W/")  # strong
        assert first.headers["cache-control"] == f"public, max-age={max_age}"
        assert "Authorization" in first.headers["vary"]
        again = await client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == f"public, max-age={max_age}"
        # Weak comparison for If-None-Match, and a list of tags.
        weak = await client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        stale = await client.get(path, headers={"If-None-Match": '"not-the-tag"'})
        assert stale.status_code == 200 and stale.content == first.content
    # A write changes the body, so the old tag no longer matches.
    path = f"/products/{product['id']}"
    old = (await client.get(path)).headers["etag"]
    await shop.update(product["id"], name="Renamed")
    changed = await client.get(path, headers={"If-None-Match": old})
    assert changed.status_code == 200 and changed.json()["name"] == "Renamed"
    assert changed.headers["etag"] != old


async def test_categories_are_cacheable_too(client: httpx.AsyncClient, admin: UserSession) -> None:
    await Shop(admin.client).product()
    first = await client.get("/categories")
    assert first.headers["cache-control"] == f"public, max-age={LIST_MAX_AGE}"
    again = await client.get("/categories", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


async def test_anything_that_carries_a_user_is_private_no_store(
    customer: UserSession, admin: UserSession
) -> None:
    product = await Shop(admin.client).product()
    # A catalog read with a token: same data, but never kept by a shared cache.
    with_token = await customer.client.get(f"/products/{product['id']}")
    assert with_token.status_code == 200
    assert with_token.headers["cache-control"] == "private, no-store"
    assert (await add(customer.client, product["id"])).headers["cache-control"] == (
        "private, no-store"
    )
    for path in ("/cart", "/orders", "/auth/me"):
        reply = await customer.client.get(path)
        assert reply.status_code == 200
        assert reply.headers["cache-control"] == "private, no-store", path
        assert "etag" not in reply.headers
    inactive = await admin.client.get(f"/products/{product['id']}?include_inactive=true")
    assert inactive.headers["cache-control"] == "private, no-store"


async def test_an_error_is_never_cached(client: httpx.AsyncClient) -> None:
    reply = await client.get("/products/" + "0" * 24)
    assert reply.status_code == 404
    assert reply.headers["cache-control"] == "private, no-store"
    assert "etag" not in reply.headers


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_large_bodies_are_gzipped_when_the_client_accepts_it(
    client: httpx.AsyncClient, admin: UserSession
) -> None:
    shop = Shop(admin.client)
    for _ in range(10):
        await shop.product()
    raw = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with raw:
        plain = await raw.get("/products", headers={"Accept-Encoding": "identity"})
        assert len(plain.content) >= GZIP_MIN_BYTES
        assert "content-encoding" not in plain.headers
        request = raw.build_request("GET", "/products", headers={"Accept-Encoding": "gzip"})
        zipped = await raw.send(request, stream=True)
        body = b"".join([chunk async for chunk in zipped.aiter_raw()])
        assert zipped.headers["content-encoding"] == "gzip"
        assert int(zipped.headers["content-length"]) == len(body) < len(plain.content) / 2
        assert gzip.decompress(body) == plain.content
        # A strong tag per coding; either form answers If-None-Match.
        assert zipped.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
        again = await raw.get(
            "/products",
            headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]},
        )
        assert again.status_code == 304
    small = await client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # below the threshold: not worth it


async def test_health_paths_under_the_catalog_are_never_cacheable(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/products/health", "/cart/health", "/health"):
        reply = await client.get(path)  # the gateway's per-service paths, answered all-in-one
        assert reply.status_code == 200, path
        assert reply.headers["cache-control"] == "private, no-store", path
        assert "etag" not in reply.headers, path
        again = await client.get(path, headers={"If-None-Match": "*"})
        assert again.status_code == 200, path


async def through_http_cache(inner: ASGIApp, path: str) -> list[Message]:
    """What HttpCache (catalog paths under /products) sends for ``inner``'s reply to a GET of
    ``path`` from a client that accepts gzip, message by message."""
    app = HttpCache(inner, catalog_prefixes=("/products",))
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "root_path": "",
             "query_string": b"", "headers": [(b"accept-encoding", b"gzip")]}
    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("path", ["/products/streamed", "/orders/export"])
async def test_a_streamed_reply_is_private_no_store_and_sent_as_it_comes(path: str) -> None:
    async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/csv")]})
        await send({"type": "http.response.body", "body": b"a" * GZIP_MIN_BYTES,
                    "more_body": True})
        await send({"type": "http.response.body", "body": b"b"})

    start, *bodies = await through_http_cache(streaming, path)
    assert dict(start["headers"])[b"cache-control"] == PRIVATE.encode()
    assert b"etag" not in dict(start["headers"])
    assert b"content-encoding" not in dict(start["headers"])
    assert [b["body"] for b in bodies] == [b"a" * GZIP_MIN_BYTES, b"b"]


@pytest.mark.parametrize("path", ["/products/x", "/orders"])
async def test_a_file_sent_by_pathsend_gets_its_start_first(path: str) -> None:
    # Servers that offer the pathsend extension get a FileResponse's file by path, no body.
    async def file_by_path(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"3")]})
        await send({"type": "http.response.pathsend", "path": "/srv/file.txt"})

    sent = await through_http_cache(file_by_path, path)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    assert dict(sent[0]["headers"])[b"cache-control"] == PRIVATE.encode()
    assert dict(sent[0]["headers"])[b"content-length"] == b"3"
