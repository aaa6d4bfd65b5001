"""POST /orders through the real app, on every store backend: money, failures, idempotency."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import MakeUser, UserSession
from tests.server.cart.shop import ADDRESS, Shop, add, checkout


@pytest.fixture
async def shop(admin: UserSession) -> Shop:
    return Shop(admin.client)


@pytest.mark.parametrize(
    ("price", "quantity", "expected"),
    [("99.99", 2, (199.98, 0.0, 10.0, 209.98)), ("0.10", 3, (0.3, 0.0, 0.02, 0.32))],
)
async def test_checkout_money(
    customer: UserSession, shop: Shop, price: str, quantity: int, expected: tuple[float, ...]
) -> None:
    product = await shop.product(price, stock=10, name="Headphones")
    await add(customer.client, product["id"], quantity)
    reply = await checkout(customer.client)
    assert reply.status_code == 201, reply.text
    order = reply.json()
    assert (order["subtotal"], order["shipping_cost"], order["tax"], order["total"]) == expected
    # Exact decimal text on the wire, not a float's 0.30000000000000004.
    assert f'"total":{expected[3]}' in reply.text.replace(" ", "")
    assert order["items"] == [
        {
            "product_id": product["id"],
            # The variant bought (a product without options has its one variant).
            "variant_id": product["variants"][0]["id"],
            "sku": None,
            "option_values": {},
            "name": "Headphones",
            "price": float(price),
            "quantity": quantity,
            "item_total": expected[0],
            "image_url": None,
        }
    ]


async def test_an_order_looks_like_the_contract_says(customer: UserSession, shop: Shop) -> None:
    product = await shop.product("5.00", stock=4)
    await add(customer.client, product["id"], 3)
    reply = await checkout(customer.client, address={**ADDRESS, "country": "pk", "state": "Sindh"})
    assert reply.status_code == 201
    order: dict[str, Any] = reply.json()
    assert re.fullmatch(r"[0-9a-f]{24}", order["id"])
    assert order["user_id"] == customer.id
    assert order["status"] == "pending"
    assert order["shipping_address"] == {
        **ADDRESS,
        "country": "PK",
        "state": "Sindh",
        "address_line2": None,
    }
    (entry,) = order["status_history"]
    assert entry["status"] == "pending"
    created = datetime.fromisoformat(order["created_at"])
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert entry["at"] == order["created_at"] == order["updated_at"]
    # The cart is emptied and the stock taken.
    assert (await customer.client.get("/cart")).json()["items"] == []
    assert await shop.stock(product["id"]) == 1
    # The checkout reply is the order plus its payment's client_secret (null: manual).
    assert order.pop("client_secret") is None
    assert (order["payment_method"], order["payment_status"]) == ("manual", "unpaid")
    assert (await customer.client.get(f"/orders/{order['id']}")).json() == order


async def test_an_empty_cart_is_400(customer: UserSession) -> None:
    reply = await checkout(customer.client)
    assert (reply.status_code, reply.json()["code"]) == (400, "cart_empty")


async def test_checkout_needs_a_user(client: Any) -> None:
    assert (await checkout(client)).status_code == 401


async def test_insufficient_stock_names_the_product_and_takes_nothing(
    customer: UserSession, shop: Shop
) -> None:
    plenty, scarce = await shop.product(stock=10), await shop.product(stock=3)
    await add(customer.client, plenty["id"], 2)
    await add(customer.client, scarce["id"], 3)
    await shop.update(scarce["id"], stock=2)
    reply = await checkout(customer.client)
    assert (reply.status_code, reply.json()["code"]) == (409, "insufficient_stock")
    assert scarce["id"] in reply.json()["detail"]
    assert plenty["id"] not in reply.json()["detail"]
    assert (await shop.stock(plenty["id"]), await shop.stock(scarce["id"])) == (10, 2)
    assert (await customer.client.get("/cart")).json()["total_items"] == 5  # kept for a retry
    assert (await customer.client.get("/orders")).json()["total"] == 0


async def test_a_product_retired_after_add_is_404(customer: UserSession, shop: Shop) -> None:
    product = await shop.product()
    await add(customer.client, product["id"])
    await shop.delete(product["id"])
    reply = await checkout(customer.client)
    assert (reply.status_code, reply.json()["code"]) == (404, "product_not_found")
    assert product["id"] in reply.json()["detail"]


@pytest.mark.parametrize(
    "change",
    [
        {"country": "XX"},  # two letters, but no country
        {"country": "UK"},  # reserved, not ISO 3166-1 (GB is)
        {"country": "Pakistan"},
        {"country": "P"},
        {"full_name": "   "},
        {"city": ""},
        {"postal_code": "x" * 21},
        {"phone": "call me"},
        {"phone": "12"},
        {"is_admin": True},
    ],
)
async def test_a_bad_address_is_422(
    customer: UserSession, shop: Shop, change: dict[str, Any]
) -> None:
    product = await shop.product(stock=1)
    await add(customer.client, product["id"])
    reply = await checkout(customer.client, address={**ADDRESS, **change})
    assert reply.status_code == 422
    assert await shop.stock(product["id"]) == 1


@pytest.mark.parametrize(
    "missing", ["full_name", "address_line1", "city", "postal_code", "country", "phone"]
)
async def test_every_required_address_field_is_required(
    customer: UserSession, missing: str
) -> None:
    address = {k: v for k, v in ADDRESS.items() if k != missing}
    assert (await checkout(customer.client, address=address)).status_code == 422


async def test_a_price_change_before_checkout_shows_and_after_does_not(
    customer: UserSession, shop: Shop
) -> None:
    product = await shop.product("20.00")
    await add(customer.client, product["id"], 2)
    await shop.update(product["id"], price="15.50")
    order = (await checkout(customer.client)).json()
    assert (order["items"][0]["price"], order["subtotal"], order["total"]) == (15.5, 31.0, 32.55)
    await shop.update(product["id"], price="99.00", name="Renamed")
    again = (await customer.client.get(f"/orders/{order['id']}")).json()
    assert again["items"] == order["items"]
    assert again["total"] == 32.55


async def test_one_key_one_order(customer: UserSession, shop: Shop) -> None:
    product = await shop.product(stock=10)
    await add(customer.client, product["id"], 2)
    first = await checkout(customer.client, key="order-123")
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    await add(customer.client, product["id"], 1)  # a new cart is not a new order under the key
    again = await checkout(customer.client, key="order-123")
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert await shop.stock(product["id"]) == 8
    assert (await customer.client.get("/orders")).json()["total"] == 1


async def test_one_key_with_another_body_is_409(customer: UserSession, shop: Shop) -> None:
    product = await shop.product()
    await add(customer.client, product["id"])
    assert (await checkout(customer.client, key="k1")).status_code == 201
    reply = await checkout(customer.client, key="k1", address={**ADDRESS, "city": "Lahore"})
    assert (reply.status_code, reply.json()["code"]) == (409, "idempotency_key_reused")


async def test_keys_belong_to_one_user(make_user: MakeUser, shop: Shop) -> None:
    alice, bob = await make_user(), await make_user()
    product = await shop.product()
    for user in (alice, bob):
        await add(user.client, product["id"])
    a = (await checkout(alice.client, key="same")).json()
    b = (await checkout(bob.client, key="same")).json()
    assert a["id"] != b["id"]
    assert (a["user_id"], b["user_id"]) == (alice.id, bob.id)


async def test_a_failed_checkout_does_not_burn_its_key(customer: UserSession, shop: Shop) -> None:
    product = await shop.product(stock=2)
    await add(customer.client, product["id"], 2)
    await shop.update(product["id"], stock=1)
    assert (await checkout(customer.client, key="try")).status_code == 409
    await shop.update(product["id"], stock=5)
    reply = await checkout(customer.client, key="try")
    assert reply.status_code == 201
    assert await shop.stock(product["id"]) == 3


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\tkey"])
async def test_a_malformed_key_is_422(customer: UserSession, key: str) -> None:
    reply = await customer.client.post(
        "/orders", json={"shipping_address": ADDRESS}, headers={"Idempotency-Key": key}
    )
    assert reply.status_code == 422


@pytest.mark.parametrize(
    "blank",
    [
        {"state": ""},
        {"state": None},
        {"state": "   "},
        {"address_line2": ""},
        {"address_line2": "   "},
        {"address_line2": None},
        {"address_line2": "\t", "state": " "},
    ],
)
async def test_blank_optional_address_fields_are_stored_as_null(
    customer: UserSession, shop: Shop, blank: dict[str, Any]
) -> None:
    # Web and mobile forms send an empty optional field as "", blanks or null (was a 500).
    product = await shop.product("5.00", stock=4)
    await add(customer.client, product["id"], 1)
    reply = await checkout(customer.client, address={**ADDRESS, **blank})
    assert reply.status_code == 201, reply.text
    stored = (await customer.client.get(f"/orders/{reply.json()['id']}")).json()
    assert stored["shipping_address"]["state"] is None
    assert stored["shipping_address"]["address_line2"] is None
