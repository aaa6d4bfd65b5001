"""Money stays exact in both directions."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from enum import IntEnum, StrEnum

import pytest
import respx

from shopkit import AsyncShopClient, _json
from shopkit.types import Cart, Order
from tests.sdk import payloads


def test_floats_parse_as_exact_decimals() -> None:
    data = _json.loads('{"total": 209.98, "n": 3, "tiny": 0.1}')
    assert data == {"total": Decimal("209.98"), "n": 3, "tiny": Decimal("0.1")}
    assert isinstance(data["n"], int)
    # 16 significant digits (91 lines x 99 units at the top price): more than a float keeps.
    assert _json.loads(b'{"s": 90089999999909.91}')["s"] == Decimal("90089999999909.91")
    # The float path would not be exact: prove the test can tell the difference.
    assert Decimal(json.loads("209.98")) != Decimal("209.98")


def test_decimals_are_sent_as_json_numbers_with_their_digits() -> None:
    body = {
        "price": Decimal("19.99"),
        "big": Decimal("1E+2"),
        "n": 3,
        "ok": True,
        "x": None,
        "name": 'say "hi" — ünïcode',
        "tags": ["a", "b"],
    }
    text = _json.dumps(body)
    assert '"price":19.99' in text
    assert '"big":100' in text  # positional, never exponent notation
    assert json.loads(text, parse_float=Decimal) == {**body, "big": Decimal("100")}


class _Kind(StrEnum):
    GIFT = "gift"


class _Rank(IntEnum):
    TOP = 1


def test_request_bodies_are_compact_and_exact_for_every_value_kind() -> None:
    # The text itself (the writer takes a faster road for exact str, int, Decimal, dict and
    # list values than for their subclasses, enums, dates and floats: all must read the same).
    rows = [
        {
            "sku": "A-1",
            "name": 'Mug "Ünï"\n',
            "price": Decimal("19.90"),
            "stock": 3,
            "tags": ["x", "é"],
            "is_active": True,
            "image_url": None,
            "kind": _Kind.GIFT,
            "rank": _Rank.TOP,
            "pair": (1, [Decimal("-0.00")]),
            "when": date(2026, 1, 2),
            "ratio": 0.5,
            "nested": {"k": {}, "l": []},
        },
        "plain",
    ]
    assert _json.dumps(rows) == (
        '[{"sku":"A-1","name":"Mug \\"Ünï\\"\\n","price":19.90,"stock":3,"tags":["x","é"],'
        '"is_active":true,"image_url":null,"kind":"gift","rank":1,"pair":[1,[-0.00]],'
        '"when":"2026-01-02","ratio":0.5,"nested":{"k":{},"l":[]}},"plain"]'
    )
    top_level = (Decimal("1E+2"), _Kind.GIFT, 10**20)
    assert _json.dumps(top_level) == '[100,"gift",100000000000000000000]'


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), float("nan")])
def test_non_finite_amounts_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        _json.dumps({"price": bad})


def test_unknown_types_are_refused() -> None:
    with pytest.raises(TypeError):
        _json.dumps({"x": object()})
    with pytest.raises(TypeError):
        _json.dumps({1: "non-string key"})


def test_money_fields_are_exact_and_padded_to_cents() -> None:
    order = Order.model_validate(_json.loads(json.dumps(payloads.order())))
    assert order.total == Decimal("209.98")
    assert str(order.total) == "209.98"
    # The server writes 10.00 as 10.0 and 0.00 as 0.0: the model shows cents.
    assert str(order.tax) == "10.00"
    assert str(order.shipping_cost) == "0.00"
    assert order.subtotal + order.tax + order.shipping_cost == order.total
    cart = Cart.model_validate({"items": [], "total_items": 0, "subtotal": 0})
    assert str(cart.subtotal) == "0.00"


async def test_client_parses_response_money_exactly(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    api.get("/orders/o1").respond(
        200,
        content=b'{"id":"o1","user_id":"u1","items":[],"subtotal":199.98,'
        b'"shipping_cost":0.0,"tax":10.0,"total":209.98,"shipping_address":'
        + json.dumps(payloads.ADDRESS).encode()
        + b',"status":"pending","status_history":[],"created_at":"2025-01-01T00:00:00Z",'
        b'"updated_at":"2025-01-01T00:00:00Z"}',
        headers={"content-type": "application/json"},
    )
    order = await shop.orders.get("o1")
    assert order.total == Decimal("209.98") and order.total.as_tuple().exponent == -2


async def test_client_sends_prices_as_exact_numbers(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    route = api.post("/products").respond(201, json=payloads.product(price=0.3))
    await shop.products.create(name="Cable", price=Decimal("0.30"), category="Electronics")
    sent = route.calls.last.request
    assert b'"price":0.30' in sent.content
    assert sent.headers["content-type"] == "application/json"
    route.reset()
    # A string amount is sent as a number too, a float through its shortest repr.
    await shop.products.create(name="Cable", price="12.5", category="Electronics")
    assert b'"price":12.5' in route.calls.last.request.content


async def test_price_filters_go_out_exactly(api: respx.MockRouter, shop: AsyncShopClient) -> None:
    route = api.get("/products").respond(200, json=payloads.page([], total=0))
    await shop.products.list(min_price=Decimal("10.10"), max_price=200)
    params = route.calls.last.request.url.params
    assert params["min_price"] == "10.10"
    assert params["max_price"] == "200"


def test_bad_amount_is_a_clear_error() -> None:
    from shopkit.resources._resource import money

    with pytest.raises(ValueError, match="price must be a number"):
        money("ten", "price")
    with pytest.raises(TypeError):
        money(True, "price")


def test_unknown_fields_from_a_newer_server_are_kept() -> None:
    data = payloads.product(colour="red", ratings={"avg": 4.5})
    from shopkit.types import Product

    product = Product.model_validate(data)
    assert product.model_extra == {"colour": "red", "ratings": {"avg": 4.5}}


def test_unknown_status_from_a_newer_server_does_not_break_reading() -> None:
    order = Order.model_validate(payloads.order(status="refunded"))
    assert order.status == "refunded"
