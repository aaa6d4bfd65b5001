"""The product service's ``/internal`` routes: service tokens only, idempotent reservations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from shopkit_server.ids import new_id
from shopkit_server.security import Role, TokenCodec
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from tests.conftest import TEST_SECRET
from tests.server.apart import Apart, make_product, service_token, services_apart, user_token

RESERVE = "/internal/stock/reservations"


@pytest.fixture
async def apart(settings: Settings, store: Store) -> AsyncIterator[Apart]:
    async with services_apart(settings, store) as running:
        yield running


@pytest.fixture
async def internal(apart: Apart) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the product service presenting a service token."""
    async with apart.client(apart.products, service_token()) as client:
        yield client


def _reserve_body(reservation_id: str, product_id: str, quantity: int) -> dict[str, object]:
    return {
        "reservation_id": reservation_id,
        "lines": [{"product_id": product_id, "quantity": quantity}],
    }


async def _stock(internal: httpx.AsyncClient, product_id: str) -> int:
    reply = await internal.post("/internal/products/lookup", json={"ids": [product_id]})
    assert reply.status_code == 200, reply.text
    return int(reply.json()["items"][0]["stock"])


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.ADMIN])
async def test_user_tokens_are_refused_on_every_internal_route(apart: Apart, role: Role) -> None:
    product = await make_product(apart, stock=5)
    async with apart.client(apart.products, user_token(role)) as user:
        replies = [
            await user.post("/internal/products/lookup", json={"ids": [product["id"]]}),
            await user.post(RESERVE, json=_reserve_body(new_id(), product["id"], 1)),
            await user.post(f"{RESERVE}/{new_id()}/release"),
        ]
    for reply in replies:
        assert reply.status_code == 401, reply.text
        assert reply.headers["www-authenticate"] == "Bearer"
        assert reply.json()["code"] == "invalid_token"
    async with apart.client(apart.products, service_token()) as internal:
        assert await _stock(internal, product["id"]) == 5  # the user's reserve took nothing


async def test_no_token_a_forged_token_and_a_refresh_token_are_refused(apart: Apart) -> None:
    forged = TokenCodec("another-secret-" + "y" * 40).issue_service_token("orders")
    refresh = TokenCodec(TEST_SECRET).issue(new_id(), Role.ADMIN).refresh_token
    for token in (None, forged, refresh):
        async with apart.client(apart.products, token) as caller:
            reply = await caller.post("/internal/products/lookup", json={"ids": []})
        assert reply.status_code == 401


async def test_a_service_token_is_not_a_user_token(apart: Apart) -> None:
    async with apart.client(apart.cart, service_token()) as caller:
        assert (await caller.get("/cart")).status_code == 401


async def test_internal_routes_are_not_in_the_public_schema(apart: Apart) -> None:
    async with apart.client(apart.products) as anon:
        schema = (await anon.get("/openapi.json")).json()
    assert schema["paths"]
    assert not [path for path in schema["paths"] if "internal" in path]


async def test_lookup_includes_inactive_products_and_leaves_unknown_ids_out(
    apart: Apart, internal: httpx.AsyncClient
) -> None:
    active = await make_product(apart, price="12.50")
    retired = await make_product(apart, active=False)
    ids = [active["id"], retired["id"], new_id(), "not-an-id"]
    reply = await internal.post("/internal/products/lookup", json={"ids": ids})
    assert reply.status_code == 200
    items = {item["id"]: item for item in reply.json()["items"]}
    assert set(items) == {active["id"], retired["id"]}
    assert items[retired["id"]]["is_active"] is False
    assert items[active["id"]]["price"] == 12.5


async def test_a_repeated_reservation_takes_stock_once(
    apart: Apart, internal: httpx.AsyncClient
) -> None:
    product = await make_product(apart, stock=10)
    body = _reserve_body(new_id(), product["id"], 3)
    # The same reservation sent five times at once (a client retrying a lost reply).
    replies = await asyncio.gather(*(internal.post(RESERVE, json=body) for _ in range(5)))
    codes = sorted(reply.status_code for reply in replies)
    assert codes.count(204) >= 1
    # A copy that arrives while the first is being written may be told to retry; none fail.
    assert all(
        reply.status_code == 204 or reply.json()["code"] == "reservation_pending"
        for reply in replies
    ), [reply.text for reply in replies]
    assert (await internal.post(RESERVE, json=body)).status_code == 204
    assert await _stock(internal, product["id"]) == 7


async def test_release_gives_back_once_and_spends_the_id(
    apart: Apart, internal: httpx.AsyncClient
) -> None:
    product = await make_product(apart, stock=4)
    reservation = new_id()
    body = _reserve_body(reservation, product["id"], 4)
    assert (await internal.post(RESERVE, json=body)).status_code == 204
    assert await _stock(internal, product["id"]) == 0
    for _ in range(2):
        assert (await internal.post(f"{RESERVE}/{reservation}/release")).status_code == 204
    assert await _stock(internal, product["id"]) == 4
    late = await internal.post(RESERVE, json=body)
    assert late.status_code == 409 and late.json()["code"] == "reservation_released"
    assert await _stock(internal, product["id"]) == 4


async def test_insufficient_stock_names_the_products_and_takes_nothing(
    apart: Apart, internal: httpx.AsyncClient
) -> None:
    plenty = await make_product(apart, stock=10)
    scarce = await make_product(apart, stock=1)
    reply = await internal.post(
        RESERVE,
        json={
            "reservation_id": new_id(),
            "lines": [
                {"product_id": plenty["id"], "quantity": 2},
                {"product_id": scarce["id"], "quantity": 2},
            ],
        },
    )
    assert reply.status_code == 409
    assert reply.json()["code"] == "insufficient_stock"
    assert reply.json()["product_ids"] == [scarce["id"]]
    assert await _stock(internal, plenty["id"]) == 10
    assert await _stock(internal, scarce["id"]) == 1


async def test_the_same_id_with_other_lines_is_a_conflict(
    apart: Apart, internal: httpx.AsyncClient
) -> None:
    product = await make_product(apart, stock=10)
    reservation = new_id()
    assert (
        await internal.post(RESERVE, json=_reserve_body(reservation, product["id"], 1))
    ).status_code == 204
    again = await internal.post(RESERVE, json=_reserve_body(reservation, product["id"], 2))
    assert again.status_code == 409 and again.json()["code"] == "reservation_mismatch"
    assert await _stock(internal, product["id"]) == 9


@pytest.mark.parametrize(
    "body",
    [
        {"reservation_id": "x", "lines": []},
        {"reservation_id": "../x", "lines": [{"product_id": "a", "quantity": 1}]},
        {"reservation_id": "x", "lines": [{"product_id": "a", "quantity": 0}]},
        {"reservation_id": "x", "lines": [{"product_id": "a", "quantity": "2"}]},
    ],
)
async def test_bad_reservations_are_422(
    internal: httpx.AsyncClient, body: dict[str, object]
) -> None:
    assert (await internal.post(RESERVE, json=body)).status_code == 422


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_all_in_one_keeps_internal_routes_off_api(client: httpx.AsyncClient) -> None:
    # ``client`` is rooted at /api: the internal routes are never under the public prefix.
    reply = await client.post("/internal/products/lookup", json={"ids": []})
    assert reply.status_code == 404
