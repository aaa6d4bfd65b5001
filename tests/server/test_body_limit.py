"""Request bodies are capped in the app, and callers are checked before their bodies are read."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request

from shopkit_server.body_limit import MAX_BODY_BYTES, MAX_BULK_BODY_BYTES
from shopkit_server.embed import Shop
from shopkit_server.paths import is_under, route_path
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from tests.conftest import UserSession

CHUNK = 64 * 1024
NGINX_CONF = Path(__file__).parents[2] / "deploy" / "nginx.conf"


@dataclass
class Exchange:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks_read: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    app: FastAPI,
    path: str,
    *,
    chunks: int,
    chunk: bytes = b"x" * CHUNK,
    declared: int | None = None,
    token: str | None = None,
    http_version: str = "1.1",
) -> Exchange:
    """POST a body of ``chunks`` chunks straight through ASGI, counting what the app reads
    (chunked in HTTP/1.1 unless ``declared``; HTTP/2 frames a body without either header)."""
    exchange = Exchange()
    headers = [(b"content-type", b"application/json")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    elif http_version.startswith("1."):
        headers.append((b"transfer-encoding", b"chunked"))
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": http_version,
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }

    async def receive() -> dict[str, Any]:
        if exchange.chunks_read >= chunks:
            return {"type": "http.disconnect"}
        exchange.chunks_read += 1
        return {"type": "http.request", "body": chunk, "more_body": exchange.chunks_read < chunks}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    await app(scope, receive, send)
    return exchange


async def test_a_declared_length_over_the_cap_is_refused_before_reading(app: FastAPI) -> None:
    size = 200 * 1024 * 1024
    reply = await call(app, "/api/auth/login", chunks=size // CHUNK, declared=size)
    assert reply.status == 413
    assert reply.json() == {"detail": reply.json()["detail"], "code": "payload_too_large"}
    assert reply.chunks_read == 0


async def test_a_chunked_body_without_length_is_cut_off_at_the_cap(app: FastAPI) -> None:
    reply = await call(app, "/api/auth/login", chunks=200 * 1024 * 1024 // CHUNK)
    assert reply.status == 413
    assert reply.json()["code"] == "payload_too_large"
    # Read up to the chunk that crossed the cap, and not one more.
    assert reply.chunks_read == MAX_BODY_BYTES // CHUNK + 1


async def test_an_http2_body_without_length_is_cut_off_at_the_cap(app: FastAPI) -> None:
    # HTTP/2 has no Transfer-Encoding: a body without Content-Length is counted all the same
    # (only an HTTP/1.x request with neither header is known to have no body).
    reply = await call(app, "/api/auth/login", chunks=200 * 1024 * 1024 // CHUNK, http_version="2")
    assert reply.status == 413
    assert reply.json()["code"] == "payload_too_large"
    assert reply.chunks_read == MAX_BODY_BYTES // CHUNK + 1


async def test_a_body_under_the_cap_still_goes_through(app: FastAPI) -> None:
    body = json.dumps({"email": "nobody@example.com", "password": "x" * 100}).encode()
    reply = await call(app, "/api/auth/login", chunks=1, chunk=body, declared=len(body))
    assert reply.status == 401
    assert reply.json()["code"] == "invalid_credentials"


async def test_bulk_import_has_its_own_larger_cap(app: FastAPI, admin: UserSession) -> None:
    over_default = MAX_BODY_BYTES // CHUNK + 8  # ~2.5 MB: over the default, under the bulk cap
    reply = await call(app, "/api/products/bulk", chunks=over_default, token=admin.access_token)
    assert reply.status == 422  # read to the end and parsed (it is not JSON): not a 413
    assert reply.chunks_read == over_default
    too_big = MAX_BULK_BODY_BYTES // CHUNK + 8
    reply = await call(app, "/api/products/bulk", chunks=too_big, token=admin.access_token)
    assert reply.status == 413
    assert reply.chunks_read == MAX_BULK_BODY_BYTES // CHUNK + 1
    declared = await call(
        app, "/api/products/bulk", chunks=1, declared=MAX_BULK_BODY_BYTES + 1, token="x"
    )
    assert declared.status == 413 and declared.chunks_read == 0


async def test_admin_routes_check_the_caller_before_reading_the_body(
    app: FastAPI, customer: UserSession
) -> None:
    chunks = 10 * 1024 * 1024 // CHUNK  # 10 MB of garbage: under the bulk cap, not JSON
    anonymous = await call(app, "/api/products/bulk", chunks=chunks)
    assert anonymous.status == 401 and anonymous.json()["code"] == "not_authenticated"
    assert anonymous.chunks_read == 0
    customer_call = await call(
        app, "/api/products/bulk", chunks=chunks, token=customer.access_token
    )
    assert customer_call.status == 403 and customer_call.json()["code"] == "forbidden"
    assert customer_call.chunks_read == 0
    # Any admin route with a body, and a malformed one: the 401 comes first, not a 422.
    for path in ("/api/products", "/api/categories"):
        reply = await call(app, path, chunks=1, chunk=b"{not json", declared=9)
        assert reply.status == 401, (path, reply.body)
        assert reply.chunks_read == 0
    # A service-only route: a user's token is refused before the body is read.
    internal = await call(
        app, "/internal/products/lookup", chunks=chunks, token=customer.access_token
    )
    assert internal.status == 401 and internal.chunks_read == 0
    # A customer route with a body, anonymously: 401 without reading it either. (Adding to a
    # cart is open to guests, so checkout stands for the customer routes.)
    checkout = await call(app, "/api/orders", chunks=1, chunk=b"{", declared=1)
    assert checkout.status == 401 and checkout.chunks_read == 0


def test_the_caps_are_the_gateways() -> None:
    text = NGINX_CONF.read_text()

    def megabytes(value: str) -> int:
        assert value.endswith("m"), value
        return int(value[:-1]) * 1024 * 1024

    default = re.search(r"^\s{4}client_max_body_size (\S+);", text, re.MULTILINE)
    bulk = re.search(
        r"location = /api/products/bulk \{\s*client_max_body_size (\S+);", text, re.MULTILINE
    )
    assert default and bulk
    assert megabytes(default.group(1)) == MAX_BODY_BYTES
    assert megabytes(bulk.group(1)) == MAX_BULK_BODY_BYTES


async def test_a_mounted_shop_keeps_the_bulk_import_cap(app: FastAPI, admin: UserSession) -> None:
    host = FastAPI()
    host.mount("/shop", app)  # scope["path"] keeps "/shop"; the cap is looked up below it
    over_default = MAX_BODY_BYTES // CHUNK + 8
    reply = await call(
        host, "/shop/api/products/bulk", chunks=over_default, token=admin.access_token
    )
    assert reply.status == 422, reply.body  # read to the end and parsed: not a 413
    assert reply.chunks_read == over_default
    capped = await call(host, "/shop/api/auth/login", chunks=over_default)
    assert capped.status == 413  # and every other path keeps the default cap


def test_prefixes_match_whole_path_segments() -> None:
    assert is_under("/shop", "/shop") and is_under("/shop/cart", "/shop")
    assert is_under("/shop/", "/shop/") and is_under("/anything", "")
    assert not is_under("/shopping", "/shop") and not is_under("/sho", "/shop")
    assert route_path({"path": "/shop/api/cart", "root_path": "/shop"}) == "/api/cart"
    assert route_path({"path": "/api/cart", "root_path": ""}) == "/api/cart"


async def test_a_host_route_sharing_the_shops_prefix_text_is_not_the_shops(
    settings: Settings, store: Store
) -> None:
    host = FastAPI()

    @host.post("/shopping")
    async def shopping(request: Request) -> dict[str, int]:
        return {"read": len(await request.body())}

    shop = Shop(["products"], settings, store=store)
    shop.include_in(host, prefix="/shop")
    over_default = MAX_BODY_BYTES // CHUNK + 8
    reply = await call(host, "/shopping", chunks=over_default)  # no lifespan has run
    assert reply.status == 200, reply.body  # the host's route, not capped by the shop
    assert reply.json() == {"read": over_default * CHUNK}
    assert not shop.started  # and it did not start the shop either
