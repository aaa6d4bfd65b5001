"""The order service apart from the cart and the product service: checkout over HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shopkit_server.cart.models import CartItem
from shopkit_server.clock import utc_now
from shopkit_server.ids import new_id
from shopkit_server.orders.clients_http import HttpStockClient
from shopkit_server.orders.models import Order
from shopkit_server.products.errors import (
    InsufficientStock,
    ReservationMismatch,
    ReservationReleased,
)
from shopkit_server.products.models import StockLine
from shopkit_server.security import TokenType
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from shopkit_server.upstream import ServiceToken, Upstream
from tests.server.apart import (
    CODEC,
    PRODUCTS_URL,
    Apart,
    make_product,
    service_token,
    services_apart,
    stock_of,
)
from tests.server.cart.shop import ADDRESS
from tests.server.orders.gate import OverlapGate

RESERVE_PATH = "/internal/stock/reservations"


@dataclasses.dataclass
class Shopper:
    id: str
    cart: httpx.AsyncClient
    orders: httpx.AsyncClient


@pytest.fixture
async def apart(settings: Settings, store: Store) -> AsyncIterator[Apart]:
    async with services_apart(settings, store) as running:
        yield running


@pytest.fixture
async def shopper(apart: Apart) -> AsyncIterator[Shopper]:
    user_id, token = await apart.customer()
    async with apart.client(apart.cart, token) as cart, apart.client(apart.orders, token) as orders:
        yield Shopper(user_id, cart, orders)


async def _fill(shopper: Shopper, product: dict[str, Any], quantity: int) -> None:
    reply = await shopper.cart.post(
        "/cart/items", json={"product_id": product["id"], "quantity": quantity}
    )
    assert reply.status_code == 200, reply.text


async def _checkout(shopper: Shopper) -> httpx.Response:
    return await shopper.orders.post("/orders", json={"shipping_address": ADDRESS})


async def test_checkout_over_http(apart: Apart, shopper: Shopper) -> None:
    product = await make_product(apart, price="99.99", stock=5)
    await _fill(shopper, product, 2)
    reply = await _checkout(shopper)
    assert reply.status_code == 201, reply.text
    order = reply.json()
    assert (order["subtotal"], order["tax"], order["total"]) == (199.98, 10.0, 209.98)
    assert await stock_of(apart, product["id"]) == 3
    assert (await shopper.cart.get("/cart")).json()["items"] == []
    # The cart was claimed and the claim finished on the cart's internal routes, with the
    # order service's token (never the user's)...
    cart_calls = apart.to_cart.seen
    calls = [f"{r.method} {r.url.path}" for r in cart_calls]
    claim = f"/internal/carts/{shopper.id}/checkouts/{order['id']}"
    assert calls == [f"POST {claim}", f"POST {claim}/finish"]
    for call in cart_calls:
        token = call.headers["authorization"].removeprefix("Bearer ")
        assert CODEC.decode(token, TokenType.SERVICE).sub == "service:orders"
    # ...and the stock reserved with a service token under the order's id.
    reserve = next(r for r in apart.to_products.seen if r.url.path == RESERVE_PATH)
    claims = CODEC.decode(
        reserve.headers["authorization"].removeprefix("Bearer "), TokenType.SERVICE
    )
    assert claims.sub == "service:orders"
    assert f'"reservation_id":"{order["id"]}"' in reserve.content.decode().replace(" ", "")


async def test_insufficient_stock_over_http_names_the_product(
    apart: Apart, shopper: Shopper
) -> None:
    product = await make_product(apart, stock=5)
    await _fill(shopper, product, 3)
    async with apart.client(apart.products, apart.admin_token) as admin:
        assert (
            await admin.patch(f"/products/{product['id']}", json={"stock": 2})
        ).status_code == 200
    reply = await _checkout(shopper)
    assert reply.status_code == 409
    assert reply.json()["code"] == "insufficient_stock" and product["id"] in reply.json()["detail"]
    assert await stock_of(apart, product["id"]) == 2


class _FailingOrders:
    """The order repository, except that storing an order fails (a database outage)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def add(self, order: Order) -> None:
        raise RuntimeError("the orders database went away")


async def test_an_order_store_failure_after_reserving_gives_the_stock_back(
    settings: Settings, store: Store
) -> None:
    broken = dataclasses.replace(store, orders=_FailingOrders(store.orders))
    async with services_apart(settings, store, orders_store=broken) as apart:
        product = await make_product(apart, stock=4)
        _, token = await apart.customer()
        async with apart.client(apart.cart, token) as cart:
            reply = await cart.post(
                "/cart/items", json={"product_id": product["id"], "quantity": 3}
            )
            assert reply.status_code == 200
        async with apart.client(apart.orders, token, expect_500=True) as orders:
            reply = await orders.post("/orders", json={"shipping_address": ADDRESS})
        assert reply.status_code == 500
        assert reply.json() == {"detail": "Internal server error.", "code": "internal_error"}
        paths = apart.to_products.paths()
        assert f"POST {RESERVE_PATH}" in paths  # it did reserve...
        assert any(p.endswith("/release") for p in paths)  # ...and gave it back over HTTP
        assert await stock_of(apart, product["id"]) == 4
        async with apart.client(apart.cart, token) as cart:  # the cart is left as it was
            assert (await cart.get("/cart")).json()["total_items"] == 3


async def test_a_lost_reserve_reply_is_retried_without_taking_stock_twice(
    apart: Apart, shopper: Shopper
) -> None:
    product = await make_product(apart, stock=10)
    await _fill(shopper, product, 4)
    lost: list[str] = []

    async def lose_first_reply(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == RESERVE_PATH and not lost:
            await apart.to_products.inner.handle_async_request(request)  # applied there...
            lost.append(request.url.path)
            raise httpx.ReadTimeout("reply lost", request=request)  # ...but never heard back
        return None

    apart.to_products.fault = lose_first_reply
    reply = await _checkout(shopper)
    assert reply.status_code == 201, reply.text
    assert apart.to_products.paths().count(f"POST {RESERVE_PATH}") == 2
    assert await stock_of(apart, product["id"]) == 6


async def test_a_reserve_that_never_answers_is_503_and_leaks_no_stock(
    apart: Apart, shopper: Shopper
) -> None:
    product = await make_product(apart, stock=10)
    await _fill(shopper, product, 4)

    async def lose_every_reserve_reply(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == RESERVE_PATH:
            await apart.to_products.inner.handle_async_request(request)
            raise httpx.ReadTimeout("reply lost", request=request)
        return None

    apart.to_products.fault = lose_every_reserve_reply
    reply = await _checkout(shopper)
    assert reply.status_code == 503 and reply.json()["code"] == "upstream_unavailable"
    assert await stock_of(apart, product["id"]) == 10
    assert (await shopper.orders.get("/orders")).json()["total"] == 0
    apart.to_products.fault = None
    retry = await _checkout(shopper)  # the customer tries again: a new order, stock taken once
    assert retry.status_code == 201, retry.text
    assert await stock_of(apart, product["id"]) == 6


async def test_a_cart_service_answering_500_is_503(apart: Apart, shopper: Shopper) -> None:
    async def boom(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"detail": "KeyError in cart_repo.py", "code": "x"})

    apart.to_cart.fault = boom
    reply = await _checkout(shopper)
    assert reply.status_code == 503 and reply.json()["code"] == "upstream_unavailable"
    assert "cart_repo" not in reply.text


async def test_the_stock_client_maps_every_refusal_back(apart: Apart) -> None:
    product = await make_product(apart, stock=2)
    async with httpx.AsyncClient(mounts={PRODUCTS_URL: apart.to_products}) as http:
        upstream = Upstream("products", PRODUCTS_URL, http, timeout=2.0, retries=2)
        stock = HttpStockClient(upstream, ServiceToken(CODEC, "orders"))
        with pytest.raises(InsufficientStock) as short:
            await stock.reserve(new_id(), [StockLine(product["id"], 3)])
        assert short.value.product_ids == [product["id"]]
        reservation = new_id()
        await stock.reserve(reservation, [StockLine(product["id"], 1)])
        with pytest.raises(ReservationMismatch):
            await stock.reserve(reservation, [StockLine(product["id"], 2)])
        await stock.release(reservation)
        await stock.release(reservation)
        with pytest.raises(ReservationReleased):
            await stock.reserve(reservation, [StockLine(product["id"], 1)])
    assert await stock_of(apart, product["id"]) == 2


async def test_a_double_tap_over_http_orders_once(apart: Apart, shopper: Shopper) -> None:
    product = await make_product(apart, stock=10)
    await _fill(shopper, product, 1)
    service = apart.orders.state.ctx.orders
    gate = OverlapGate(service.products, racers=5)
    service.products = gate

    replies = await asyncio.gather(*(gate.answer(_checkout(shopper)) for _ in range(5)))

    assert gate.opened_at == (1, 4)  # one checkout inside while the four others answered
    assert Counter(r.status_code for r in replies) == {201: 1, 409: 4}
    assert {r.json()["code"] for r in replies if r.status_code == 409} == {"checkout_in_progress"}
    assert await stock_of(apart, product["id"]) == 9
    assert (await shopper.orders.get("/orders")).json()["total"] == 1
    assert (await shopper.cart.get("/cart")).json()["items"] == []


async def test_a_checkout_refused_by_the_catalog_releases_the_cart_over_http(
    apart: Apart, shopper: Shopper
) -> None:
    product = await make_product(apart, stock=1)
    await _fill(shopper, product, 1)
    async with apart.client(apart.products, apart.admin_token) as admin:
        reply = await admin.patch(f"/products/{product['id']}", json={"stock": 0})
        assert reply.status_code == 200
        refused = await _checkout(shopper)
        assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_stock")
        assert apart.to_cart.paths()[-1].startswith(
            f"DELETE /internal/carts/{shopper.id}/checkouts/"
        )
        await admin.patch(f"/products/{product['id']}", json={"stock": 1})
    assert (await _checkout(shopper)).status_code == 201


async def test_a_cart_over_the_line_cap_gets_a_clear_409_not_a_503(
    apart: Apart, shopper: Shopper, store: Store
) -> None:
    # A cart filled before the cap existed (600 lines, written past the service's check).
    for _ in range(600):
        line = CartItem(product_id=new_id(), name="x", price=Decimal("1.00"), quantity=1)
        await store.carts.add_item(shopper.id, line, max_quantity=99, max_lines=1000, now=utc_now())
    reply = await _checkout(shopper)
    assert (reply.status_code, reply.json()["code"]) == (409, "cart_line_limit")
    # The claim was released: once the cart is trimmed it can be checked out.
    assert apart.to_cart.paths()[-1].startswith(f"DELETE /internal/carts/{shopper.id}/checkouts/")


async def test_the_checkout_claim_routes_refuse_a_customer_token(
    apart: Apart, shopper: Shopper
) -> None:
    product = await make_product(apart, stock=5)
    await _fill(shopper, product, 1)
    claim = f"/internal/carts/{shopper.id}/checkouts/{new_id()}"
    finish = {"items": [{"product_id": product["id"], "quantity": 1}]}
    # The customer's own token, on their own cart: a service route, so a 401 every time.
    for method, path, body in [
        ("POST", claim, None),
        ("POST", f"{claim}/finish", finish),
        ("DELETE", claim, None),
    ]:
        reply = await shopper.cart.request(method, path, json=body)
        assert reply.status_code == 401, (method, path, reply.text)
    # The customer-facing paths the claim used to live at are gone.
    for method in ("POST", "DELETE"):
        gone = await shopper.cart.request(method, f"/cart/checkouts/{new_id()}")
        assert gone.status_code == 404, gone.text
    # Nothing was claimed: the cart checks out at once.
    assert (await _checkout(shopper)).status_code == 201
    # A peer service's token is what the routes take.
    async with apart.client(apart.cart, service_token()) as peer:
        other = f"/internal/carts/{shopper.id}/checkouts/{new_id()}"
        assert (await peer.post(other)).status_code == 200
        assert (await peer.delete(other)).status_code == 204


async def test_a_checkout_apart_is_three_peer_calls(apart: Apart, shopper: Shopper) -> None:
    product = await make_product(apart, price="12.34", stock=5)
    await _fill(shopper, product, 2)
    apart.to_cart.seen.clear()
    apart.to_products.seen.clear()

    reply = await _checkout(shopper)

    assert reply.status_code == 201, reply.text
    assert reply.json()["items"][0]["price"] == 12.34  # priced from what the reservation read
    # Claim and finish on the cart; one call reserves the stock AND reads the products.
    assert len(apart.to_cart.seen) == 2
    assert apart.to_products.paths() == [f"POST {RESERVE_PATH}"]
    assert await stock_of(apart, product["id"]) == 3


async def test_a_product_gone_before_checkout_apart_reserves_nothing(
    apart: Apart, shopper: Shopper
) -> None:
    product = await make_product(apart, stock=5)
    await _fill(shopper, product, 1)
    async with apart.client(apart.products, apart.admin_token) as admin:
        reply = await admin.patch(f"/products/{product['id']}", json={"is_active": False})
        assert reply.status_code == 200, reply.text

    refused = await _checkout(shopper)

    assert (refused.status_code, refused.json()["code"]) == (404, "product_not_found")
    assert product["id"] in refused.json()["detail"]
    assert await stock_of(apart, product["id"]) == 5
    # The claim was released: the cart can be checked out once the product is back.
    async with apart.client(apart.products, apart.admin_token) as admin:
        await admin.patch(f"/products/{product['id']}", json={"is_active": True})
    assert (await _checkout(shopper)).status_code == 201
