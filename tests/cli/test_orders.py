"""``shopkit orders list | get | advance | cancel`` on orders placed through the SDK."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI

import shopkit
from tests.cli.conftest import Admin, Cli, one_line_error
from tests.conftest import MakeUser, UserSession, api_client

ADDRESS = {
    "full_name": "Ada Lovelace",
    "address_line1": "12 Analytical Row",
    "city": "London",
    "postal_code": "N1 9GU",
    "country": "GB",
    "phone": "+44 20 7946 0000",
}


@pytest.fixture
async def product_id(cli: Cli, logged_in: Admin) -> str:
    assert (await cli("categories", "create", "Audio")).exit_code == 0
    result = await cli(
        "products",
        "create",
        "--json",
        "--sku",
        "AUD-1",
        "--name",
        "Headphones",
        "--price",
        "99.99",
        "--category",
        "Audio",
        "--stock",
        "10",
    )
    assert result.exit_code == 0, result.output
    product: dict[str, Any] = json.loads(result.stdout)
    return str(product["id"])


async def place_order(app: FastAPI, user: UserSession, product_id: str, quantity: int = 2) -> str:
    """A customer's checkout, through the SDK like any integrator's."""
    async with api_client(app) as http, shopkit.AsyncShopClient(http_client=http) as shop:
        await shop.auth.login(email=user.email, password=user.password)
        await shop.cart.add_item(product_id, quantity=quantity)
        order = await shop.orders.create(shipping_address=ADDRESS)
    return order.id


async def stock_of(cli: Cli, product_id: str) -> int:
    result = await cli("products", "get", product_id, "--json")
    return int(json.loads(result.stdout)["stock"])


async def test_advance_walks_the_whole_flow_then_refuses(
    cli: Cli, product_id: str, app: FastAPI, make_user: MakeUser
) -> None:
    order_id = await place_order(app, await make_user(), product_id)
    seen = []
    for expected in ["confirmed", "processing", "shipped", "delivered"]:
        result = await cli("orders", "advance", order_id, "--json")
        assert result.exit_code == 0, result.output
        order = json.loads(result.stdout)
        assert order["status"] == expected
        seen.append(order["status"])
        assert f"-> {expected}" in result.stderr
    assert [h["status"] for h in order["status_history"]] == ["pending", *seen]
    assert order["total"] == 209.98  # 2 x 99.99 + 5 % tax, a JSON number as the API writes it
    assert '"total": 209.98' in result.stdout

    # delivered is final: no next step, and an explicit move is refused by the server.
    final = await cli("orders", "advance", order_id)
    assert final.exit_code == 1
    assert "final status" in one_line_error(final)
    refused = await cli("orders", "advance", order_id, "--to", "shipped")
    assert refused.exit_code == 1
    line = one_line_error(refused)
    assert "HTTP 409 invalid_transition" in line and "request id" in line


async def test_a_move_the_flow_does_not_allow_prints_the_servers_reason(
    cli: Cli, product_id: str, app: FastAPI, make_user: MakeUser
) -> None:
    order_id = await place_order(app, await make_user(), product_id)
    skip = await cli("orders", "advance", order_id, "--to", "shipped")
    assert skip.exit_code == 1
    assert "invalid_transition" in one_line_error(skip)
    status = json.loads((await cli("orders", "get", order_id, "--json")).stdout)["status"]
    assert status == "pending"
    bogus = await cli("orders", "advance", order_id, "--to", "teleported")
    assert bogus.exit_code == 2


async def test_cancel_asks_gives_stock_back_and_is_final(
    cli: Cli, product_id: str, app: FastAPI, make_user: MakeUser
) -> None:
    order_id = await place_order(app, await make_user(), product_id, quantity=3)
    assert await stock_of(cli, product_id) == 7
    refused = await cli("orders", "cancel", order_id)
    assert refused.exit_code == 2 and "needs --yes" in one_line_error(refused)

    result = await cli("orders", "cancel", order_id, "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "cancelled"
    assert await stock_of(cli, product_id) == 10
    again = await cli("orders", "advance", order_id)
    assert "final status" in one_line_error(again)


async def test_list_all_with_status_and_get(
    cli: Cli, product_id: str, app: FastAPI, make_user: MakeUser
) -> None:
    alice, bob = await make_user(), await make_user()
    first = await place_order(app, alice, product_id, quantity=1)
    second = await place_order(app, bob, product_id, quantity=1)
    assert (await cli("orders", "advance", first)).exit_code == 0

    mine = json.loads((await cli("orders", "list", "--json")).stdout)
    assert mine == []  # the admin placed none
    everyone = json.loads((await cli("orders", "list", "--all", "--json")).stdout)
    assert [o["id"] for o in everyone] == [second, first]  # newest first
    pending = json.loads(
        (await cli("orders", "list", "--all", "--status", "pending", "--json")).stdout
    )
    assert [o["id"] for o in pending] == [second]
    plain = await cli("orders", "list", "--all")
    assert [line.split("\t")[:2] for line in plain.stdout.splitlines()] == [
        [second, "pending"],
        [first, "confirmed"],
    ]

    shown = await cli("orders", "get", first)
    assert shown.exit_code == 0
    assert f"id\t{first}" in shown.stdout.splitlines()
    assert "status\tconfirmed" in shown.stdout.splitlines()
    assert any(
        line.startswith(f"{product_id}\tHeadphones\t99.99\t1\t99.99")
        for line in shown.stdout.splitlines()
    )

    missing = await cli("orders", "get", "f" * 24)
    assert "HTTP 404" in one_line_error(missing)


async def test_customers_cannot_advance_orders(
    cli: Cli, product_id: str, app: FastAPI, make_user: MakeUser
) -> None:
    customer = await make_user()
    order_id = await place_order(app, customer, product_id)
    login = await cli(
        "--profile",
        "shopper",
        "login",
        "-e",
        customer.email,
        "--password-stdin",
        input=customer.password + "\n",
    )
    assert login.exit_code == 0
    own = json.loads((await cli("--profile", "shopper", "orders", "list", "--json")).stdout)
    assert [o["id"] for o in own] == [order_id]
    refused = await cli("--profile", "shopper", "orders", "advance", order_id)
    assert refused.exit_code == 1
    assert "HTTP 403" in one_line_error(refused)


def test_next_status_follows_the_flow() -> None:
    from shopkit_cli.commands.orders import next_status

    assert [next_status(s) for s in ["pending", "confirmed", "processing", "shipped"]] == [
        "confirmed",
        "processing",
        "shipped",
        "delivered",
    ]
    assert next_status("delivered") is None
    assert next_status("cancelled") is None


async def test_pay_records_a_cash_payment_once(
    cli: Cli, product_id: str, app: FastAPI, make_user: MakeUser
) -> None:
    order_id = await place_order(app, await make_user(), product_id)
    wrong = await cli("orders", "pay", order_id, "--amount", "1.00")
    assert wrong.exit_code == 1 and "payment_amount_mismatch" in one_line_error(wrong)
    bad = await cli("orders", "pay", order_id, "--amount", "1.001")
    assert bad.exit_code == 2
    result = await cli("orders", "pay", order_id, "--amount", "209.98", "--json")
    assert result.exit_code == 0, result.output
    order = json.loads(result.stdout)
    assert (order["payment_method"], order["payment_status"]) == ("manual", "paid")
    assert "is paid" in result.stderr
    again = await cli("orders", "pay", order_id)
    assert again.exit_code == 1 and "order_already_paid" in one_line_error(again)
