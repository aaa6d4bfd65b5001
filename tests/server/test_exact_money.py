"""Money is exact on the wire both ways: written from the decimal text, read as Decimal."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shopkit_server import wire
from tests.conftest import UserSession
from tests.server.cart.shop import Shop, add, checkout

TOP = "9999999999.99"  # the highest price a product may have


def test_only_money_written_in_the_block_becomes_a_bare_number() -> None:
    with wire.exact_numbers() as marks:
        price = wire.json_number(Decimal("-12.50"))
        zero = wire.json_number(Decimal("0"))
    assert isinstance(price, str) and "12.50" in price
    body = json.dumps({"price": price, "zero": [zero], "name": "12.50", "n": 1}).encode()
    assert (
        wire.write_exact(body, marks) == b'{"price": -12.50, "zero": [0], "name": "12.50", "n": 1}'
    )
    with wire.exact_numbers() as other:
        assert wire.write_exact(body, other) == body  # another block's marks: left alone
    assert wire.json_number(Decimal("1.5")) == 1.5  # outside a block: a float, as pydantic


def _exact(reply: httpx.Response) -> Any:
    return json.loads(reply.content, parse_float=Decimal)


async def test_a_huge_order_keeps_every_cent(customer: UserSession, admin: UserSession) -> None:
    # 91 lines x 99 units (the cart's per-line cap) at the top price: 16 significant digits,
    # more than a float holds (it printed 90089999999909.9).
    shop = Shop(admin.client)
    for _ in range(91):
        product = await shop.product(TOP, stock=99)
        assert (await add(customer.client, product["id"], 99)).status_code == 200
    cart = await customer.client.get("/cart")
    assert b'"subtotal":90089999999909.91' in cart.content
    assert _exact(cart)["items"][0]["item_total"] == Decimal("989999999999.01")
    reply = await checkout(customer.client)
    assert reply.status_code == 201, reply.text
    order = _exact(reply)
    assert order["subtotal"] == Decimal("90089999999909.91")
    assert b'"subtotal":90089999999909.91' in reply.content
    expected_total = order["subtotal"] + order["shipping_cost"] + order["tax"]
    assert order["total"] == expected_total
    assert f'"total":{expected_total}'.encode() in reply.content
    # identity: the length checked is the rewritten body's, not a gzip of it
    again = await customer.client.get(
        f"/orders/{order['id']}", headers={"Accept-Encoding": "identity"}
    )
    assert _exact(again)["subtotal"] == Decimal("90089999999909.91")
    assert int(again.headers["content-length"]) == len(again.content)
    # Still a JSON number any client can read, not a string.
    assert isinstance(again.json()["subtotal"], float)


@pytest.mark.parametrize(
    "price", ["19.999999999999999", "20.000000000000001", "0.001", "1e-3", "9.999", "1E400"]
)
async def test_more_than_two_decimals_are_refused_however_close(
    client: httpx.AsyncClient, admin: UserSession, price: str
) -> None:
    # Sent as a raw JSON number: the float parser used to round 19.999999999999999 to 20.0.
    assert (await admin.client.post("/categories", json={"name": "Audio"})).status_code == 201
    raw = '{"name": "Lamp", "category": "Audio", "price": ' + price + "}"
    reply = await admin.client.post(
        "/products", content=raw, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["code"] == "validation_error"
    bulk = await admin.client.post(
        "/products/bulk", content=f"[{raw}]", headers={"content-type": "application/json"}
    )
    assert bulk.status_code == 200 and bulk.json()["created"] == 0, bulk.text
    assert (await client.get("/products")).json()["total"] == 0


async def test_exact_prices_round_trip_and_patch_is_checked_too(
    client: httpx.AsyncClient, admin: UserSession
) -> None:
    product = await Shop(admin.client).product("0.10")
    assert b'"price":0.1' in (await client.get(f"/products/{product['id']}")).content
    # As a float this is 9999999999.99 exactly; as the Decimal it is, it has nine decimals.
    raw = '{"price": 9999999999.989999999}'
    reply = await admin.client.patch(
        f"/products/{product['id']}", content=raw, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 422, reply.text
    reply = await admin.client.patch(
        f"/products/{product['id']}",
        content='{"price": 9999999999.99}',
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 200, reply.text
    assert b'"price":9999999999.99' in reply.content
    # Text shaped like the money marker is still a string: the marker is random per reply.
    lookalike = "0123456789abcdef" * 2 + "5.00"
    renamed = await admin.client.patch(f"/products/{product['id']}", json={"name": lookalike})
    assert renamed.json()["name"] == lookalike


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "raw",
    [
        '{"name": "x", "category": "Audio", "price": NaN}',
        '{"name": "x", "category": "Audio", "price": Infinity}',
        '{"name": "x", "category": "Audio", "price": -Infinity}',
        '{"name": "x", "category": "Audio", "price": 1, "stock": ' + "9" * 5000 + "}",
    ],
)
async def test_non_json_numbers_are_invalid_json(admin: UserSession, raw: str) -> None:
    reply = await admin.client.post(
        "/products", content=raw, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_body_that_is_not_utf8_is_invalid_json(admin: UserSession) -> None:
    reply = await admin.client.post(
        "/categories", content=b'{"name": "\xff\xfe"}', headers={"content-type": "application/json"}
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"][0]["type"] == "json_invalid"
