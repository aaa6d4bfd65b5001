"""PATCH /products/{id} with ``variants``: the full list, applied in one write, on every store."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import UserSession
from tests.server.products.conftest import Catalog
from tests.server.products.test_variants_api import SIZES, create, tshirt, variant


async def test_one_patch_updates_creates_and_retires_variants(
    client: httpx.AsyncClient, admin: UserSession, catalog: Catalog
) -> None:
    made = await create(admin, tshirt())
    pid = made["id"]
    s_red = variant(made, Size="S", Colour="Red")
    m_blue = variant(made, Size="M", Colour="Blue")
    sizes = {"name": "Size", "values": [*SIZES, "XL"]}
    body = {
        "name": "Organic T-shirt v2",
        # A new option value and the variant that uses it, in the same body.
        "options": [sizes, made["options"][1]],
        "variants": [
            {"id": s_red["id"], "stock": 7},  # only the fields sent change
            {"id": m_blue["id"], "price": "12.00", "sku": "TEE-M-BLUE-2"},
            {"sku": "TEE-XL-RED", "option_values": {"Colour": "Red", "Size": "XL"}, "stock": 4},
        ],
    }
    reply = await admin.client.patch(f"/products/{pid}", json=body)
    assert reply.status_code == 200, reply.text
    after = reply.json()
    assert after["name"] == "Organic T-shirt v2"
    assert len(after["variants"]) == 7  # four retired, none deleted
    kept = variant(after, Size="S", Colour="Red")
    assert (kept["id"], kept["stock"], kept["price"], kept["sku"]) == (
        s_red["id"],
        7,
        18.5,
        "TEE-S-RED",
    )
    changed = variant(after, Size="M", Colour="Blue")
    assert (changed["sku"], changed["price"], changed["stock"]) == ("TEE-M-BLUE-2", 12.0, 1)
    xl = variant(after, Size="XL", Colour="Red")
    assert (xl["sku"], xl["stock"], xl["is_active"]) == ("TEE-XL-RED", 4, True)
    active = {v["id"] for v in after["variants"] if v["is_active"]}
    assert active == {s_red["id"], m_blue["id"], xl["id"]}
    # The aggregates over the active variants, in the same write.
    assert (after["price"], after["stock"], after["in_stock"]) == (12.0, 12, True)
    got = (await client.get(f"/products/{pid}")).json()
    assert got["variants"] == after["variants"] and got["stock"] == 12
    # Retiring every variant with stock: the product is out of stock.
    empty = variant(after, Size="L", Colour="Blue")["id"]
    reply = await admin.client.patch(
        f"/products/{pid}", json={"variants": [{"id": empty, "is_active": True}]}
    )
    assert reply.status_code == 200, reply.text
    assert (reply.json()["stock"], reply.json()["in_stock"]) == (0, False)
    assert (await client.get(f"/products/{pid}")).json()["in_stock"] is False


async def test_a_bad_entry_leaves_the_product_unchanged(
    client: httpx.AsyncClient, admin: UserSession, catalog: Catalog
) -> None:
    made = await create(admin, tshirt())
    pid = made["id"]
    first, second = made["variants"][0], made["variants"][1]

    async def refused(variants: list[dict[str, Any]], **extra: Any) -> tuple[int, str]:
        body = {"name": "Renamed", "variants": variants, **extra}
        reply = await admin.client.patch(f"/products/{pid}", json=body)
        return reply.status_code, reply.json()["code"]

    good = {"id": first["id"], "stock": 99}
    assert await refused([good, {"option_values": {"Size": "XL", "Colour": "Red"}}]) == (
        422,
        "option_values_invalid",
    )
    assert await refused([good, {"id": "0" * 24, "stock": 1}]) == (404, "variant_not_found")
    # Another product's sku: only the store's unique index sees it, mid-write.
    assert await refused([good, {"id": second["id"], "sku": "SMARTPHONE"}]) == (409, "sku_taken")
    assert await refused([good, {"sku": "SMARTPHONE", "option_values": {"Size": "XL"}}]) == (
        422,
        "option_values_invalid",
    )
    sizes = {"name": "Size", "values": [*SIZES, "XL"]}
    new_xl = {"sku": "SMARTPHONE", "option_values": {"Size": "XL", "Colour": "Red"}}
    assert await refused([good, new_xl], options=[sizes, made["options"][1]]) == (
        409,
        "sku_taken",
    )
    assert (await refused([]))[0] == 422  # 1..100 entries
    got = (await client.get(f"/products/{pid}")).json()
    assert got["name"] == made["name"] and got["options"] == made["options"]
    assert got["variants"] == made["variants"]
    assert (got["price"], got["stock"]) == (made["price"], made["stock"])


async def test_duplicate_combinations_and_skus_are_refused(
    client: httpx.AsyncClient, admin: UserSession, catalog: Catalog
) -> None:
    made = await create(admin, tshirt())
    pid = made["id"]
    first, second = made["variants"][0], made["variants"][1]

    async def code(variants: list[dict[str, Any]]) -> tuple[int, str]:
        reply = await admin.client.patch(f"/products/{pid}", json={"variants": variants})
        return reply.status_code, reply.json()["code"]

    # A new variant with the combination of a listed one; an edit onto a retired one's.
    clash = {"option_values": dict(first["option_values"]), "sku": "NEW"}
    assert await code([{"id": first["id"]}, clash]) == (409, "duplicate_variant")
    moved = {"id": first["id"], "option_values": dict(second["option_values"])}
    assert await code([moved]) == (409, "duplicate_variant")
    same_sku = {"id": second["id"], "sku": first["sku"]}
    assert await code([{"id": first["id"]}, same_sku]) == (409, "duplicate_variant")
    assert await code([{"id": first["id"]}, {"id": first["id"], "stock": 1}]) == (
        422,
        "option_values_invalid",
    )
    too_many = [{"id": first["id"]}] * 101
    reply = await admin.client.patch(f"/products/{pid}", json={"variants": too_many})
    assert reply.status_code == 422
    plain = (await client.get("/products", params={"q": "smartphone"})).json()["items"][0]
    reply = await admin.client.patch(f"/products/{plain['id']}", json={"variants": [{}]})
    assert (reply.status_code, reply.json()["code"]) == (422, "option_values_invalid")
    got = (await client.get(f"/products/{pid}")).json()
    assert got["variants"] == made["variants"]


async def test_two_variants_swap_skus_and_combinations_in_one_patch(
    client: httpx.AsyncClient, admin: UserSession, catalog: Catalog
) -> None:
    made = await create(admin, tshirt())
    pid = made["id"]
    a, b = made["variants"][0], made["variants"][1]
    rest = [{"id": v["id"]} for v in made["variants"][2:]]
    swap = [
        {"id": a["id"], "sku": b["sku"], "option_values": b["option_values"]},
        {"id": b["id"], "sku": a["sku"], "option_values": a["option_values"]},
        *rest,
    ]
    reply = await admin.client.patch(f"/products/{pid}", json={"variants": swap})
    assert reply.status_code == 200, reply.text
    got = {v["id"]: v for v in (await client.get(f"/products/{pid}")).json()["variants"]}
    assert (got[a["id"]]["sku"], got[a["id"]]["option_values"]) == (b["sku"], b["option_values"])
    assert (got[b["id"]]["sku"], got[b["id"]]["option_values"]) == (a["sku"], a["option_values"])
    assert all(v["is_active"] for v in got.values())
