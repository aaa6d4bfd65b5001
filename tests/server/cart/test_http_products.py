"""The cart service apart from the product service: it asks for products over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from shopkit_server.ids import new_id
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from tests.server.apart import Apart, Fault, make_product, services_apart


@pytest.fixture
async def apart(settings: Settings, store: Store) -> AsyncIterator[Apart]:
    async with services_apart(settings, store, upstream_retries=1) as running:
        yield running


@pytest.fixture
async def shopper(apart: Apart) -> AsyncIterator[httpx.AsyncClient]:
    _, token = await apart.customer()
    async with apart.client(apart.cart, token) as client:
        yield client


async def _add(client: httpx.AsyncClient, product_id: str, quantity: int = 1) -> httpx.Response:
    return await client.post("/cart/items", json={"product_id": product_id, "quantity": quantity})


async def test_adding_reads_the_product_over_http(apart: Apart, shopper: httpx.AsyncClient) -> None:
    product = await make_product(apart, price="19.99", stock=5)
    reply = await _add(shopper, product["id"], 2)
    assert reply.status_code == 200, reply.text
    cart = reply.json()
    assert cart["items"][0]["name"] == product["name"]
    assert '"subtotal":39.98' in reply.text.replace(" ", "")  # exact money across two hops
    # One catalog read, before the write: the add and its priced answer need no second call.
    assert apart.to_products.paths() == ["POST /internal/products/lookup"]


async def test_a_cart_of_many_lines_is_refreshed_in_one_call(
    apart: Apart, shopper: httpx.AsyncClient
) -> None:
    products = [await make_product(apart) for _ in range(6)]
    for product in products:
        assert (await _add(shopper, product["id"])).status_code == 200
    apart.to_products.seen.clear()
    reply = await shopper.get("/cart")
    assert reply.status_code == 200 and reply.json()["total_items"] == 6
    assert apart.to_products.paths() == ["POST /internal/products/lookup"]  # no N+1


async def test_the_products_answers_map_to_the_same_errors(
    apart: Apart, shopper: httpx.AsyncClient
) -> None:
    retired = await make_product(apart, active=False)
    scarce = await make_product(apart, stock=1)
    for product_id in (new_id(), retired["id"], "not-an-id"):
        reply = await _add(shopper, product_id)
        assert reply.status_code == 404 and reply.json()["code"] == "product_not_found"
    over = await _add(shopper, scarce["id"], 2)
    assert over.status_code == 409 and over.json()["code"] == "insufficient_stock"
    # A malformed id never reaches the peer's URL.
    assert not [path for path in apart.to_products.paths() if "not-an-id" in path]


async def test_a_retired_product_shows_as_unavailable(
    apart: Apart, shopper: httpx.AsyncClient
) -> None:
    product = await make_product(apart)
    assert (await _add(shopper, product["id"])).status_code == 200
    async with apart.client(apart.products, apart.admin_token) as admin:
        assert (await admin.delete(f"/products/{product['id']}")).status_code == 204
    line = (await shopper.get("/cart")).json()["items"][0]
    assert line["product_id"] == product["id"] and line["available"] is False


async def test_the_request_id_goes_to_the_peer(apart: Apart, shopper: httpx.AsyncClient) -> None:
    product = await make_product(apart)
    reply = await shopper.post(
        "/cart/items", json={"product_id": product["id"]}, headers={"X-Request-ID": "trace-42"}
    )
    assert reply.status_code == 200
    assert apart.to_products.seen  # the catalog read the add made
    assert {r.headers["x-request-id"] for r in apart.to_products.seen} == {"trace-42"}


def _answer(status: int, content: bytes) -> Fault:
    async def fault(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers={"content-type": "application/json"})

    return fault


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (500, b'{"detail": "Traceback: sqlite3.OperationalError at /srv/db", "code": "x"}'),
        (200, b"<html>definitely not json</html>"),
        (200, b'{"id": "wrong shape"}'),
        (200, json.dumps({"items": "nope"}).encode()),
        (418, b"{}"),
        (502, b"bad gateway"),
    ],
)
async def test_a_peer_answering_nonsense_is_503_never_500(
    apart: Apart, shopper: httpx.AsyncClient, status: int, content: bytes
) -> None:
    product = await make_product(apart)
    apart.to_products.fault = _answer(status, content)
    reply = await _add(shopper, product["id"])
    assert reply.status_code == 503, reply.text
    assert reply.json()["code"] == "upstream_unavailable"
    assert "sqlite" not in reply.text and "Traceback" not in reply.text


async def test_a_peer_that_cannot_be_reached_is_503_after_bounded_retries(
    apart: Apart, shopper: httpx.AsyncClient
) -> None:
    product = await make_product(apart)

    async def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    apart.to_products.fault = refuse
    apart.to_products.seen.clear()
    reply = await _add(shopper, product["id"])
    assert reply.status_code == 503 and reply.json()["code"] == "upstream_unavailable"
    assert len(apart.to_products.seen) == 2  # one attempt plus upstream_retries=1
    apart.to_products.fault = None
    assert (await _add(shopper, product["id"])).status_code == 200


def _fail_after(ok_calls: int) -> Fault:
    """Let the first ``ok_calls`` requests to the product service through, fail the rest."""
    seen = 0

    async def fault(request: httpx.Request) -> httpx.Response | None:
        nonlocal seen
        seen += 1
        return None if seen <= ok_calls else httpx.Response(503, content=b"down")

    return fault


@pytest.mark.parametrize("ok_calls", [0, 1])
async def test_an_add_is_never_answered_failed_once_applied(
    apart: Apart, shopper: httpx.AsyncClient, ok_calls: int
) -> None:
    product = await make_product(apart)
    apart.to_products.fault = _fail_after(ok_calls)
    reply = await _add(shopper, product["id"], 2)
    apart.to_products.fault = None
    lines = [(i["product_id"], i["quantity"]) for i in (await shopper.get("/cart")).json()["items"]]
    if reply.status_code == 503:
        assert lines == []  # answered failed: not applied
    else:
        assert reply.status_code == 200 and lines == [(product["id"], 2)]
    # The product service failing only after its first answer no longer fails the add.
    assert reply.status_code == (503 if ok_calls == 0 else 200)


@pytest.mark.parametrize(
    ("status", "code"),
    [(409, "some_conflict"), (422, "validation_error"), (404, "not_found"), (400, "bad_request")],
)
async def test_a_peer_refusal_is_passed_on_not_disguised_as_a_503(
    apart: Apart, shopper: httpx.AsyncClient, status: int, code: str
) -> None:
    product = await make_product(apart)
    body = json.dumps({"detail": "internal words /srv/x", "code": code}).encode()
    apart.to_products.fault = _answer(status, body)
    reply = await _add(shopper, product["id"])
    assert (reply.status_code, reply.json()["code"]) == (status, code)
    assert "/srv/x" not in reply.text  # the peer's own text stays behind
    assert len(apart.to_products.seen) == 1  # a refusal is not retried


async def test_a_peer_refusing_this_services_credentials_is_a_500_not_a_503(
    apart: Apart, shopper: httpx.AsyncClient
) -> None:
    product = await make_product(apart)
    apart.to_products.fault = _answer(401, b'{"detail": "bad token", "code": "invalid_token"}')
    reply = await _add(shopper, product["id"])
    assert (reply.status_code, reply.json()["code"]) == (500, "upstream_refused")
