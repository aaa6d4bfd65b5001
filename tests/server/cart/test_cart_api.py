"""The cart endpoints through the real app, on every store backend."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pytest
from fastapi import FastAPI

from shopkit_server.errors import UpstreamUnavailable
from shopkit_server.ids import new_id
from shopkit_server.products.models import Product
from tests.conftest import MakeUser, UserSession, api_client
from tests.server.cart.shop import Shop, add


@pytest.fixture
async def shop(admin: UserSession) -> Shop:
    return Shop(admin.client)


async def test_a_new_user_has_an_empty_cart(customer: UserSession) -> None:
    reply = await customer.client.get("/cart")
    assert reply.status_code == 200
    assert reply.json() == {
        "items": [],
        "total_items": 0,
        "subtotal": 0.0,
        "updated_at": None,
        "cart_token": None,
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/cart"),
        ("PATCH", f"/cart/items/{new_id()}"),
        ("DELETE", f"/cart/items/{new_id()}"),
        ("DELETE", "/cart"),
    ],
)
async def test_every_cart_route_but_adding_needs_a_user_or_a_cart_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    """Adding without either opens a guest cart (tests/server/cart/test_guest_carts.py)."""
    reply = await client.request(method, path, json={"product_id": new_id(), "quantity": 1})
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"


async def test_adding_builds_lines_with_exact_money(customer: UserSession, shop: Shop) -> None:
    cable = await shop.product("0.10", name="Cable")
    reply = await customer.client.post("/cart/items", json={"product_id": cable["id"]})
    assert reply.status_code == 200
    assert reply.json()["items"][0]["quantity"] == 1  # default quantity
    reply = await add(customer.client, cable["id"], 2)
    body = reply.json()
    assert body["items"] == [
        {
            "product_id": cable["id"],
            # A line is one variant: a product without options has its one variant.
            "variant_id": cable["variants"][0]["id"],
            "sku": None,
            "option_values": {},
            "name": "Cable",
            "price": 0.1,
            "quantity": 3,
            "item_total": 0.3,
            "image_url": None,
            "available": True,
        }
    ]
    assert (body["total_items"], body["subtotal"]) == (3, 0.3)
    assert body["updated_at"].endswith(("Z", "+00:00"))

    headphones = await shop.product("99.99")
    body = (await add(customer.client, headphones["id"], 2)).json()
    assert [i["product_id"] for i in body["items"]] == [cable["id"], headphones["id"]]
    assert (body["total_items"], body["subtotal"]) == (5, 200.28)
    assert (await customer.client.get("/cart")).json() == body


@pytest.mark.parametrize(
    "payload",
    [
        {"quantity": 1},
        {"product_id": "x", "quantity": 0},
        {"product_id": "x", "quantity": -1},
        {"product_id": "x", "quantity": 100},
        {"product_id": "x", "quantity": 1.5},
        {"product_id": "x", "quantity": 1, "price": 0.01},
    ],
)
async def test_bad_add_bodies_are_422(customer: UserSession, payload: dict[str, object]) -> None:
    reply = await customer.client.post("/cart/items", json=payload)
    assert reply.status_code == 422


async def test_unknown_malformed_and_inactive_products_are_404(
    customer: UserSession, shop: Shop
) -> None:
    retired = await shop.product()
    await shop.delete(retired["id"])
    for product_id in (new_id(), "not-an-id", retired["id"]):
        reply = await add(customer.client, product_id)
        assert reply.status_code == 404, product_id
        assert reply.json()["code"] == "product_not_found"
    assert (await customer.client.get("/cart")).json()["items"] == []


async def test_a_line_cannot_exceed_stock(customer: UserSession, shop: Shop) -> None:
    product = await shop.product(stock=5)
    assert (await add(customer.client, product["id"], 4)).status_code == 200
    reply = await add(customer.client, product["id"], 2)
    assert reply.status_code == 409
    assert reply.json()["code"] == "insufficient_stock"
    assert product["id"] in reply.json()["detail"]
    assert (await customer.client.get("/cart")).json()["total_items"] == 4
    assert (await add(customer.client, product["id"], 1)).json()["total_items"] == 5


async def test_a_line_holds_at_most_99(customer: UserSession, shop: Shop) -> None:
    product = await shop.product(stock=500)
    assert (await add(customer.client, product["id"], 99)).status_code == 200
    reply = await add(customer.client, product["id"], 1)
    assert reply.status_code == 409
    assert reply.json()["code"] == "quantity_limit_exceeded"


async def test_patch_sets_and_zero_removes(customer: UserSession, shop: Shop) -> None:
    a, b = await shop.product("2.50", stock=10), await shop.product("1.00")
    await add(customer.client, a["id"])
    await add(customer.client, b["id"])
    reply = await customer.client.patch(f"/cart/items/{a['id']}", json={"quantity": 10})
    assert reply.status_code == 200
    assert (reply.json()["total_items"], reply.json()["subtotal"]) == (11, 26.0)
    reply = await customer.client.patch(f"/cart/items/{a['id']}", json={"quantity": 0})
    assert reply.status_code == 200
    assert [i["product_id"] for i in reply.json()["items"]] == [b["id"]]


async def test_patch_failures(customer: UserSession, shop: Shop) -> None:
    product = await shop.product(stock=3)
    url = f"/cart/items/{product['id']}"
    reply = await customer.client.patch(url, json={"quantity": 1})
    assert (reply.status_code, reply.json()["code"]) == (404, "cart_item_not_found")
    for bad in ("/cart/items/not-an-id", f"/cart/items/{new_id()}"):
        assert (await customer.client.patch(bad, json={"quantity": 1})).status_code == 404
    await add(customer.client, product["id"])
    reply = await customer.client.patch(url, json={"quantity": 4})
    assert (reply.status_code, reply.json()["code"]) == (409, "insufficient_stock")
    for body in ({"quantity": 100}, {"quantity": -1}, {}, {"quantity": 2, "name": "x"}):
        assert (await customer.client.patch(url, json=body)).status_code == 422
    assert (await customer.client.get("/cart")).json()["total_items"] == 1


async def test_delete_line_is_idempotent_and_delete_cart_empties(
    customer: UserSession, shop: Shop
) -> None:
    a, b = await shop.product(), await shop.product()
    await add(customer.client, a["id"])
    await add(customer.client, b["id"], 2)
    reply = await customer.client.delete(f"/cart/items/{a['id']}")
    assert reply.status_code == 200
    assert [i["product_id"] for i in reply.json()["items"]] == [b["id"]]
    again = await customer.client.delete(f"/cart/items/{a['id']}")
    assert (again.status_code, again.json()) == (200, reply.json())
    assert (await customer.client.delete("/cart/items/not-an-id")).status_code == 200

    reply = await customer.client.delete("/cart")
    assert (reply.status_code, reply.content) == (204, b"")
    assert (await customer.client.get("/cart")).json()["items"] == []
    assert (await customer.client.delete("/cart")).status_code == 204


async def test_another_users_cart_is_out_of_reach(make_user: MakeUser, shop: Shop) -> None:
    alice, bob = await make_user(), await make_user()
    product = await shop.product()
    await add(alice.client, product["id"], 2)
    reply = await bob.client.patch(f"/cart/items/{product['id']}", json={"quantity": 5})
    assert reply.status_code == 404
    assert (await bob.client.delete(f"/cart/items/{product['id']}")).json()["items"] == []
    assert (await bob.client.delete("/cart")).status_code == 204
    assert (await bob.client.get("/cart")).json()["items"] == []
    assert (await alice.client.get("/cart")).json()["total_items"] == 2


async def test_the_cart_shows_current_prices_and_flags_lost_lines(
    customer: UserSession, shop: Shop
) -> None:
    mug, tea = await shop.product("9.99", stock=5), await shop.product("4.00")
    await add(customer.client, mug["id"], 2)
    await add(customer.client, tea["id"])
    await shop.update(mug["id"], price="7.49", name="Mug (sale)")
    body = (await customer.client.get("/cart")).json()
    line = body["items"][0]
    assert (line["name"], line["price"], line["item_total"]) == ("Mug (sale)", 7.49, 14.98)
    assert body["subtotal"] == 18.98

    await shop.update(mug["id"], stock=1)
    await shop.delete(tea["id"])
    items = (await customer.client.get("/cart")).json()["items"]
    assert [i["available"] for i in items] == [False, False]


async def test_25_concurrent_adds_end_with_quantity_25(customer: UserSession, shop: Shop) -> None:
    product = await shop.product(stock=40)
    replies = await asyncio.gather(*(add(customer.client, product["id"]) for _ in range(25)))
    assert [r.status_code for r in replies] == [200] * 25
    body = (await customer.client.get("/cart")).json()
    assert body["items"][0]["quantity"] == 25


async def test_concurrent_changes_to_one_cart_are_all_kept(
    customer: UserSession, shop: Shop
) -> None:
    products = [await shop.product() for _ in range(6)]
    replies = await asyncio.gather(*(add(customer.client, p["id"], 2) for p in products))
    assert all(r.status_code == 200 for r in replies)
    items = (await customer.client.get("/cart")).json()["items"]
    assert sorted((i["product_id"], i["quantity"]) for i in items) == sorted(
        (p["id"], 2) for p in products
    )


async def test_concurrent_adds_never_pass_stock(customer: UserSession, shop: Shop) -> None:
    product = await shop.product(stock=10)
    replies = await asyncio.gather(*(add(customer.client, product["id"], 3) for _ in range(6)))
    codes = sorted(r.status_code for r in replies)
    assert codes == [200, 200, 200, 409, 409, 409]
    assert (await customer.client.get("/cart")).json()["total_items"] == 9


class _DownProducts:
    async def get_products(self, product_ids: Sequence[str]) -> dict[str, Product]:
        raise UpstreamUnavailable()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_silent_product_service_is_a_503(
    app: FastAPI, customer: UserSession, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = await shop.product()
    await add(customer.client, product["id"])
    monkeypatch.setattr(app.state.ctx.cart, "products", _DownProducts())
    for reply in (
        await add(customer.client, product["id"]),
        await customer.client.get("/cart"),
    ):
        assert reply.status_code == 503
        assert reply.json()["code"] == "upstream_unavailable"


async def test_a_new_line_past_the_cart_line_cap_is_a_409(
    customer: UserSession, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shopkit_server.cart.service.MAX_CART_LINES", 2)
    products = [await shop.product() for _ in range(3)]
    for product in products[:2]:
        assert (await add(customer.client, product["id"])).status_code == 200
    refused = await add(customer.client, products[2]["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "cart_line_limit")
    cart = (await customer.client.get("/cart")).json()
    assert [i["product_id"] for i in cart["items"]] == [p["id"] for p in products[:2]]


async def test_the_checkout_claim_is_not_a_client_route(
    app: FastAPI, customer: UserSession
) -> None:
    checkout = new_id()
    async with api_client(app, customer.access_token) as api:
        for method in ("POST", "DELETE"):
            reply = await api.request(method, f"/cart/checkouts/{checkout}")
            assert reply.status_code == 404, reply.text
        reply = await api.post(f"/cart/checkouts/{checkout}/finish", json={"items": []})
        assert reply.status_code == 404
    # Outside /api, the all-in-one app serves it to peer services only.
    http = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {customer.access_token}"}
    async with httpx.AsyncClient(transport=http, base_url="http://test", headers=headers) as raw:
        path = f"/internal/carts/{customer.id}/checkouts/{checkout}"
        assert (await raw.post(path)).status_code == 401
        assert (await raw.delete(path)).status_code == 401
