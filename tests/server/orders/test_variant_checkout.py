"""Buying one variant (issue 12): pick Blue/M, check out, only Blue/M's stock moves; two
buyers racing for the last Blue/M get one order. Real requests, every store."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from shopkit_server.store import Store
from tests.conftest import MakeUser, UserSession
from tests.server.cart.shop import checkout

STOCK = {("S", "Red"): 5, ("M", "Red"): 4, ("S", "Blue"): 3, ("M", "Blue"): 1}


@pytest.fixture
async def tshirt(admin: UserSession) -> dict[str, Any]:
    category = f"Tees {uuid.uuid4().hex[:6]}"
    assert (await admin.client.post("/categories", json={"name": category})).status_code == 201
    reply = await admin.client.post(
        "/products",
        json={
            "name": "T-shirt",
            "price": "20.00",
            "category": category,
            "options": [
                {"name": "Size", "values": ["S", "M"]},
                {"name": "Colour", "values": ["Red", "Blue"]},
            ],
            "variants": [
                {
                    "sku": f"TEE-{size}-{colour}",
                    "option_values": {"Size": size, "Colour": colour},
                    "stock": stock,
                    **({"price": "22.00"} if colour == "Blue" else {}),
                    **(
                        {"image_url": "https://img.example/tee-blue.jpg"}
                        if colour == "Blue"
                        else {}
                    ),
                }
                for (size, colour), stock in STOCK.items()
            ],
        },
    )
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def pick(product: dict[str, Any], size: str, colour: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        v for v in product["variants"] if v["option_values"] == {"Size": size, "Colour": colour}
    )
    return found


async def stocks(client: httpx.AsyncClient, product_id: str) -> dict[tuple[str, str], int]:
    product = (await client.get(f"/products/{product_id}")).json()
    return {
        (v["option_values"]["Size"], v["option_values"]["Colour"]): v["stock"]
        for v in product["variants"]
    }


async def add_variant(
    client: httpx.AsyncClient, product_id: str, variant_id: str, quantity: int = 1
) -> httpx.Response:
    body = {"product_id": product_id, "variant_id": variant_id, "quantity": quantity}
    return await client.post("/cart/items", json=body)


async def test_buying_blue_m_takes_only_blue_m_and_cancel_gives_it_back(
    client: httpx.AsyncClient, customer: UserSession, tshirt: dict[str, Any]
) -> None:
    pid = tshirt["id"]
    browsed = (await client.get("/products", params={"option": ["Size:M", "Colour:Blue"]})).json()
    assert [p["id"] for p in browsed["items"]] == [pid]
    blue_m = pick(tshirt, "M", "Blue")
    reply = await add_variant(customer.client, pid, blue_m["id"])
    assert reply.status_code == 200, reply.text
    (line,) = reply.json()["items"]
    assert (line["variant_id"], line["sku"], line["price"]) == (blue_m["id"], "TEE-M-Blue", 22.0)
    assert line["image_url"] == "https://img.example/tee-blue.jpg"
    # Over the variant's stock (1), whatever the product's total (13).
    more = await add_variant(customer.client, pid, blue_m["id"])
    assert (more.status_code, more.json()["code"]) == (409, "insufficient_stock")
    without = await customer.client.post("/cart/items", json={"product_id": pid})
    assert (without.status_code, without.json()["code"]) == (422, "variant_required")

    placed = await checkout(customer.client)

    assert placed.status_code == 201, placed.text
    (item,) = placed.json()["items"]
    assert (item["variant_id"], item["sku"], item["option_values"]) == (
        blue_m["id"],
        "TEE-M-Blue",
        {"Size": "M", "Colour": "Blue"},
    )
    assert (item["price"], item["image_url"]) == (22.0, "https://img.example/tee-blue.jpg")
    assert await stocks(client, pid) == {**STOCK, ("M", "Blue"): 0}
    product = (await client.get(f"/products/{pid}")).json()
    assert (product["stock"], product["price"]) == (12, 20.0)
    # Blue/M sold out: the option filter no longer finds the product by it.
    gone = (await client.get("/products", params={"option": ["Size:M", "Colour:Blue"]})).json()
    assert gone["items"] == []

    cancelled = await customer.client.post(f"/orders/{placed.json()['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert await stocks(client, pid) == STOCK  # the variant got its unit back


async def test_two_buyers_racing_for_the_last_blue_m_get_one_order(
    store: Store,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    tshirt: dict[str, Any],
) -> None:
    pid, blue_m = tshirt["id"], pick(tshirt, "M", "Blue")
    buyers = [await make_user() for _ in range(2)]
    for buyer in buyers:
        assert (await add_variant(buyer.client, pid, blue_m["id"])).status_code == 200
    # Count the checkouts inside the store's stock step (one place_order on SQLite and
    # PostgreSQL; the reservation on MongoDB) before the first one gets its answer.
    target: Any = store.checkout if store.checkout is not None else store.products
    name = "place_order" if store.checkout is not None else "reserve"
    inner = getattr(target, name)
    inside = 0
    both_in = asyncio.Event()

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal inside
        inside += 1
        if inside == len(buyers):
            both_in.set()
        await both_in.wait()  # neither goes on before the other one is in as well
        return await inner(*args, **kwargs)

    setattr(target, name, counted)

    replies = await asyncio.gather(*(checkout(buyer.client) for buyer in buyers))

    assert inside == 2 and both_in.is_set()  # really overlapped
    assert sorted(r.status_code for r in replies) == [201, 409]
    (refused,) = [r for r in replies if r.status_code == 409]
    assert refused.json()["code"] == "insufficient_stock"
    assert await stocks(client, pid) == {**STOCK, ("M", "Blue"): 0}  # the others untouched
