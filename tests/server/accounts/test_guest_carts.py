"""Guest carts, and their merge into an account's cart at login, on every store."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from shopkit_server.cart.models import MAX_LINE_QUANTITY, CartItem, Shortfall, merge_line
from tests.conftest import PASSWORD, UserSession
from tests.server.accounts.gate import Gate
from tests.server.cart.shop import Shop
from tests.server.orders.test_variant_checkout import pick, tshirt

__all__ = ["tshirt"]  # the fixture, shared with the variant checkout tests


async def _guest_add(client: httpx.AsyncClient, product_id: str, quantity: int, token: str | None):
    headers = {"X-Cart-Token": token} if token else {}
    return await client.post(
        "/cart/items", json={"product_id": product_id, "quantity": quantity}, headers=headers
    )


async def test_a_guest_fills_a_cart_and_registering_merges_it(
    client: httpx.AsyncClient, admin: UserSession
) -> None:
    shop = Shop(admin.client)
    mug = await shop.product("9.50", name="Mug", stock=5)
    first = await _guest_add(client, mug["id"], 2, None)
    assert first.status_code == 200, first.text
    token = first.headers["X-Cart-Token"]
    assert first.json()["cart_token"] == token and len(token) >= 40
    again = await _guest_add(client, mug["id"], 1, token)
    assert again.json()["items"][0]["quantity"] == 3 and again.json()["cart_token"] is None
    seen = await client.get("/cart", headers={"X-Cart-Token": token})
    assert seen.json()["total_items"] == 3
    registered = await client.post(
        "/auth/register",
        json={"email": "guest@example.com", "password": PASSWORD, "name": "Guest"},
        headers={"X-Cart-Token": token},
    )
    assert registered.status_code == 201, registered.text
    merge = registered.json()["cart_merge"]
    assert merge == {
        "outcome": "merged",
        "lines": [
            {
                "product_id": mug["id"],
                "variant_id": mug["variants"][0]["id"],
                "requested": 3,
                "added": 3,
                "shortfall": None,
            }
        ],
    }
    access = registered.json()["tokens"]["access_token"]
    cart = await client.get("/cart", headers={"Authorization": f"Bearer {access}"})
    assert cart.json()["items"][0]["quantity"] == 3
    # The guest cart is gone: its token opens nothing any more.
    gone = await client.get("/cart", headers={"X-Cart-Token": token})
    assert gone.status_code == 404 and gone.json()["code"] == "cart_token_invalid"


async def test_merging_adds_quantities_capped_by_stock(
    client: httpx.AsyncClient, admin: UserSession, customer: UserSession
) -> None:
    shop = Shop(admin.client)
    lamp = await shop.product("20.00", stock=4)
    await customer.client.post("/cart/items", json={"product_id": lamp["id"], "quantity": 3})
    token = (await _guest_add(client, lamp["id"], 3, None)).headers["X-Cart-Token"]
    login = await client.post(
        "/auth/login",
        json={"email": customer.email, "password": PASSWORD},
        headers={"X-Cart-Token": token},
    )
    assert login.json()["cart_merge"]["lines"] == [
        {
            "product_id": lamp["id"],
            "variant_id": lamp["variants"][0]["id"],
            "requested": 3,
            "added": 1,
            "shortfall": "stock",
        }
    ]
    assert (await customer.client.get("/cart")).json()["items"][0]["quantity"] == 4


async def test_a_merge_keeps_variants_apart_and_caps_each_by_its_own_stock(
    client: httpx.AsyncClient, customer: UserSession, tshirt: dict[str, Any]
) -> None:
    pid = tshirt["id"]
    blue_m, red_s = pick(tshirt, "M", "Blue"), pick(tshirt, "S", "Red")  # stock 1 and 5

    def line(variant: dict[str, Any], quantity: int) -> dict[str, Any]:
        return {"product_id": pid, "variant_id": variant["id"], "quantity": quantity}

    # The account already holds the last Blue/M.
    assert (await customer.client.post("/cart/items", json=line(blue_m, 1))).status_code == 200
    token = (await client.post("/cart/items", json=line(red_s, 2))).headers["X-Cart-Token"]
    guest = {"X-Cart-Token": token}
    # While the account's line holds it, the guest may still put Blue/M in its own cart.
    assert (
        await client.post("/cart/items", json=line(blue_m, 1), headers=guest)
    ).status_code == 200
    login = await client.post(
        "/auth/login",
        json={"email": customer.email, "password": PASSWORD},
        headers={"X-Cart-Token": token},
    )
    lines = {line["variant_id"]: line for line in login.json()["cart_merge"]["lines"]}
    assert lines[red_s["id"]]["added"] == 2 and lines[red_s["id"]]["shortfall"] is None
    assert (lines[blue_m["id"]]["added"], lines[blue_m["id"]]["shortfall"]) == (0, "stock")
    cart = (await customer.client.get("/cart")).json()
    held = {item["variant_id"]: item["quantity"] for item in cart["items"]}
    assert held == {blue_m["id"]: 1, red_s["id"]: 2}
    assert {item["option_values"]["Colour"] for item in cart["items"]} == {"Blue", "Red"}


def test_the_merge_rule() -> None:
    item = CartItem(product_id="p", name="P", price=1, quantity=60)  # type: ignore[arg-type]
    assert merge_line(guest=item, current=50, stock=500, lines_in_cart=1).added == 49
    capped = merge_line(guest=item, current=50, stock=500, lines_in_cart=1)
    assert capped.shortfall is Shortfall.LINE_LIMIT and 50 + capped.added == MAX_LINE_QUANTITY
    assert merge_line(guest=item, current=0, stock=None, lines_in_cart=0).shortfall is (
        Shortfall.UNAVAILABLE
    )
    full = merge_line(guest=item, current=0, stock=500, lines_in_cart=100)
    assert (full.added, full.shortfall) == (0, Shortfall.CART_LINE_LIMIT)


async def test_two_racing_logins_merge_a_guest_cart_exactly_once(
    app: FastAPI, client: httpx.AsyncClient, admin: UserSession, customer: UserSession
) -> None:
    shop = Shop(admin.client)
    pen = await shop.product("1.00", stock=50)
    token = (await _guest_add(client, pen["id"], 2, None)).headers["X-Cart-Token"]
    login = {"email": customer.email, "password": PASSWORD}
    # From two addresses (the test client is a trusted proxy): one address gets one password
    # check of an account at a time (auth/throttle.py).
    with Gate(app.state.ctx.store.carts, "merge_guest", racers=2) as gate:
        replies = await asyncio.gather(
            *(
                client.post(
                    "/auth/login",
                    json=login,
                    headers={"X-Cart-Token": token, "X-Forwarded-For": f"203.0.113.{i}"},
                )
                for i in (1, 2)
            )
        )
    assert gate.peak == 2  # both logins reached the claim together
    assert [r.status_code for r in replies] == [200, 200]
    assert sorted(r.json()["cart_merge"]["outcome"] for r in replies) == ["invalid", "merged"]
    assert (await customer.client.get("/cart")).json()["items"][0]["quantity"] == 2


async def test_bad_tokens_and_bad_adds_open_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bad = await client.get("/cart", headers={"X-Cart-Token": "not-a-token"})
    assert bad.status_code == 404 and bad.json()["code"] == "cart_token_invalid"
    missing = await _guest_add(client, "000000000000000000000000", 1, None)
    assert missing.status_code == 404 and "x-cart-token" not in missing.headers
    login = await client.post(
        "/auth/login",
        json={"email": "x@example.com", "password": PASSWORD},
        headers={"X-Cart-Token": "whatever"},
    )
    assert login.status_code == 401


async def test_expired_guest_carts_are_swept(
    app: FastAPI, client: httpx.AsyncClient, admin: UserSession
) -> None:
    from datetime import timedelta

    from shopkit_server.clock import utc_now

    pen = await Shop(admin.client).product("1.00", stock=5)
    token = (await _guest_add(client, pen["id"], 1, None)).headers["X-Cart-Token"]
    store = app.state.ctx.store
    assert await store.guest_carts.sweep(utc_now()) == 0
    assert await store.guest_carts.sweep(utc_now() + timedelta(days=15)) == 1
    gone = await client.get("/cart", headers={"X-Cart-Token": token})
    assert gone.status_code == 404


async def test_a_guests_first_add_reads_the_product_once(
    app: FastAPI, client: httpx.AsyncClient, admin: UserSession, monkeypatch: Any
) -> None:
    pen = await Shop(admin.client).product("1.00", stock=5)
    products = app.state.ctx.cart.products
    asked: list[list[str]] = []
    read = products.get_products

    async def counted(ids: list[str]) -> Any:
        asked.append(list(ids))
        return await read(ids)

    monkeypatch.setattr(products, "get_products", counted)
    first = await _guest_add(client, pen["id"], 2, None)
    assert first.status_code == 200, first.text
    assert first.json()["items"][0]["quantity"] == 2
    assert asked == [[pen["id"]]]  # check_addable's read, handed on to add_item
    again = await _guest_add(client, pen["id"], 1, first.headers["X-Cart-Token"])
    assert again.json()["items"][0]["quantity"] == 3
    assert asked == [[pen["id"]], [pen["id"]]]


async def test_a_merge_prices_guest_lines_the_first_catalog_read_missed(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: UserSession,
    customer: UserSession,
    monkeypatch: Any,
) -> None:
    pen = await Shop(admin.client).product("1.00", stock=5)
    token = (await _guest_add(client, pen["id"], 2, None)).headers["X-Cart-Token"]
    guests = app.state.ctx.cart.guests

    async def not_seen(*args: Any) -> None:
        return None  # as if the guest's lines came after the merge read the catalog

    monkeypatch.setattr(guests, "find", not_seen)
    login = await client.post(
        "/auth/login",
        json={"email": customer.email, "password": PASSWORD},
        headers={"X-Cart-Token": token},
    )
    assert login.json()["cart_merge"]["outcome"] == "merged"
    assert [(x["added"], x["shortfall"]) for x in login.json()["cart_merge"]["lines"]] == [
        (2, None)
    ]
    assert (await customer.client.get("/cart")).json()["items"][0]["quantity"] == 2
