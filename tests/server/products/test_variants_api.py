"""Products with options, variants and image galleries (issue 12), on every store."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import UserSession
from tests.server.products.conftest import Catalog

SIZES = ["S", "M", "L"]
COLOURS = ["Red", "Blue"]


def tshirt(**overrides: Any) -> dict[str, Any]:
    stock = {("S", "Red"): 5, ("M", "Red"): 0, ("L", "Red"): 2, ("S", "Blue"): 1}
    stock |= {("M", "Blue"): 1, ("L", "Blue"): 0}
    body: dict[str, Any] = {
        "sku": "TEE",
        "name": "Organic T-shirt",
        "price": "20.00",
        "category": "Kitchen",
        "options": [{"name": "Size", "values": SIZES}, {"name": "Colour", "values": COLOURS}],
        "variants": [
            {
                "sku": f"TEE-{size}-{colour.upper()}",
                "option_values": {"Size": size, "Colour": colour},
                "stock": stock[(size, colour)],
                **({"price": "18.50"} if (size, colour) == ("S", "Red") else {}),
            }
            for colour in COLOURS
            for size in SIZES
        ],
        "images": [
            {"url": "https://img.example/tee-front.jpg", "alt": "Front"},
            {"url": "https://img.example/tee-back.jpg", "alt": "Back"},
        ],
    }
    body.update(overrides)
    return body


async def create(admin: UserSession, body: dict[str, Any]) -> dict[str, Any]:
    reply = await admin.client.post("/products", json=body)
    assert reply.status_code == 201, reply.text
    result: dict[str, Any] = reply.json()
    return result


def variant(product: dict[str, Any], **values: str) -> dict[str, Any]:
    found: dict[str, Any] = next(v for v in product["variants"] if v["option_values"] == values)
    return found


async def test_a_product_with_options_carries_variants_and_aggregates(
    client: httpx.AsyncClient, admin: UserSession, catalog: Catalog
) -> None:
    made = await create(admin, tshirt())
    assert [o["name"] for o in made["options"]] == ["Size", "Colour"]
    assert len(made["variants"]) == 6 and len({v["id"] for v in made["variants"]}) == 6
    assert all(len(v["id"]) == 24 for v in made["variants"])
    # price: the lowest active variant price; stock: the sum; image_url: the first image.
    assert (made["price"], made["base_price"], made["stock"], made["in_stock"]) == (
        18.5,
        20.0,
        9,
        True,
    )
    assert made["image_url"] == "https://img.example/tee-front.jpg"
    assert [i["alt"] for i in made["images"]] == ["Front", "Back"]
    got = (await client.get(f"/products/{made['id']}")).json()
    assert got["variants"] == made["variants"]
    assert variant(got, Size="M", Colour="Blue")["sku"] == "TEE-M-BLUE"


async def test_a_product_without_options_has_its_default_variant(
    client: httpx.AsyncClient, admin: UserSession, catalog: Catalog
) -> None:
    made = await create(
        admin,
        {"sku": "LAMP", "name": "Lamp", "price": "9.00", "category": "Kitchen", "stock": 4},
    )
    (only,) = made["variants"]
    assert (only["sku"], only["stock"], only["option_values"], only["price"]) == (
        "LAMP",
        4,
        {},
        None,
    )
    # Product sku and stock in an update are the default variant's.
    reply = await admin.client.patch(f"/products/{made['id']}", json={"stock": 7, "sku": "LAMP-2"})
    assert reply.status_code == 200, reply.text
    (only,) = reply.json()["variants"]
    assert (reply.json()["stock"], only["stock"], only["sku"]) == (7, 7, "LAMP-2")
    # Every earlier product got its default variant too.
    phone = (await client.get(f"/products/{catalog.id('Smartphone')}")).json()
    assert [v["sku"] for v in phone["variants"]] == ["SMARTPHONE"]


async def test_bad_variant_sets_are_refused_with_their_codes(
    admin: UserSession, catalog: Catalog
) -> None:
    async def code(body: dict[str, Any]) -> tuple[int, str]:
        reply = await admin.client.post("/products", json=body)
        return reply.status_code, reply.json()["code"]

    wrong_value = tshirt()
    wrong_value["variants"][0]["option_values"] = {"Size": "XL", "Colour": "Red"}
    assert await code(wrong_value) == (422, "option_values_invalid")
    missing = tshirt()
    missing["variants"][0]["option_values"] = {"Size": "S"}
    assert await code(missing) == (422, "option_values_invalid")
    twice = tshirt()
    twice["variants"][1]["option_values"] = dict(twice["variants"][0]["option_values"])
    assert await code(twice) == (409, "duplicate_variant")
    assert await code(tshirt(stock=5)) == (422, "variant_required")
    no_options = {"name": "X", "price": "1.00", "category": "Kitchen", "variants": [{}]}
    assert await code(no_options) == (422, "option_values_invalid")
    # Skus are unique over every variant of every product.
    taken = tshirt(sku="TEE-2")
    taken["variants"][0]["sku"] = "SMARTPHONE"
    assert await code(taken) == (409, "sku_taken")
    assert (await admin.client.get("/products", params={"q": "x"})).status_code == 200


async def test_add_change_and_retire_single_variants(
    client: httpx.AsyncClient, admin: UserSession, customer: UserSession, catalog: Catalog
) -> None:
    made = await create(admin, tshirt())
    pid = made["id"]
    # A new value first (options must still fit every variant), then its variant.
    sizes = {"name": "Size", "values": [*SIZES, "XL"]}
    reply = await admin.client.patch(
        f"/products/{pid}", json={"options": [sizes, made["options"][1]]}
    )
    assert reply.status_code == 200, reply.text
    body = {"sku": "TEE-XL-RED", "option_values": {"Size": "XL", "Colour": "Red"}, "stock": 3}
    assert (await customer.client.post(f"/products/{pid}/variants", json=body)).status_code == 403
    reply = await admin.client.post(f"/products/{pid}/variants", json=body | {"price": "25.00"})
    assert reply.status_code == 201, reply.text
    xl = reply.json()
    assert (xl["stock"], xl["price"]) == (3, 25.0)
    again = await admin.client.post(f"/products/{pid}/variants", json=body | {"sku": "OTHER"})
    assert (again.status_code, again.json()["code"]) == (409, "duplicate_variant")
    product = (await client.get(f"/products/{pid}")).json()
    assert product["stock"] == 12 and len(product["variants"]) == 7
    # Change one variant: only its fields, the aggregates follow.
    reply = await admin.client.patch(
        f"/products/{pid}/variants/{xl['id']}", json={"price": "15.00", "stock": 1}
    )
    assert reply.status_code == 200, reply.text
    product = (await client.get(f"/products/{pid}")).json()
    assert (product["price"], product["stock"]) == (15.0, 10)
    bad = await admin.client.patch(
        f"/products/{pid}/variants/{xl['id']}", json={"option_values": {"Size": "M"}}
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "option_values_invalid")
    # Retire: out of the aggregates, still listed (inactive).
    assert (await admin.client.delete(f"/products/{pid}/variants/{xl['id']}")).status_code == 204
    product = (await client.get(f"/products/{pid}")).json()
    assert (product["price"], product["stock"]) == (18.5, 9)
    assert variant(product, Size="XL", Colour="Red")["is_active"] is False
    missing = await admin.client.patch(f"/products/{pid}/variants/{'0' * 24}", json={"stock": 1})
    assert (missing.status_code, missing.json()["code"]) == (404, "variant_not_found")
    # Stock of a product with options is per variant.
    reply = await admin.client.patch(f"/products/{pid}", json={"stock": 3})
    assert (reply.status_code, reply.json()["code"]) == (422, "variant_required")
    # Options that no longer fit the variants are refused.
    reply = await admin.client.patch(
        f"/products/{pid}", json={"options": [{"name": "Size", "values": ["S"]}]}
    )
    assert (reply.status_code, reply.json()["code"]) == (422, "option_values_invalid")


async def test_option_filter_matches_in_stock_variants_only(
    client: httpx.AsyncClient, admin: UserSession, catalog: Catalog
) -> None:
    made = await create(admin, tshirt())

    async def names(*options: str, **params: Any) -> list[str]:
        reply = await client.get("/products", params={"option": list(options), **params})
        assert reply.status_code == 200, reply.text
        return [item["name"] for item in reply.json()["items"]]

    assert await names("Size:M") == ["Organic T-shirt"]  # Blue/M has stock
    assert await names("size:m", "Colour:Blue") == ["Organic T-shirt"]  # any case, AND
    assert await names("Size:M", "Colour:Red") == []  # Red/M: none in stock
    assert await names("Size:XL") == []
    # Price filters compare the "from" price (the lowest active variant price, 18.50).
    assert await names("Size:L", min_price="18.50") == ["Organic T-shirt"]
    assert await names("Size:L", min_price="19") == []
    blue_m = variant(made, Size="M", Colour="Blue")
    await admin.client.patch(f"/products/{made['id']}/variants/{blue_m['id']}", json={"stock": 0})
    assert await names("Size:M") == []
    reply = await client.get("/products", params={"option": "Size"})
    assert (reply.status_code, reply.json()["code"]) == (422, "unprocessable")
    # Price sorts and filters use the variant prices ("from" 18.50).
    assert "Organic T-shirt" in await names(max_price="18.50")


async def test_the_gallery_and_image_url(admin: UserSession, catalog: Catalog) -> None:
    made = await create(admin, tshirt())
    pid = made["id"]
    reply = await admin.client.patch(
        f"/products/{pid}", json={"image_url": "https://img.example/new.jpg"}
    )
    body = reply.json()
    assert body["image_url"] == "https://img.example/new.jpg"
    assert [i["url"] for i in body["images"]] == [
        "https://img.example/new.jpg",
        "https://img.example/tee-back.jpg",
    ]
    reply = await admin.client.patch(f"/products/{pid}", json={"images": []})
    assert (reply.json()["image_url"], reply.json()["images"]) == (None, [])
    many = [{"url": f"https://img.example/{n}.jpg"} for n in range(21)]
    assert (await admin.client.patch(f"/products/{pid}", json={"images": many})).status_code == 422


async def test_bulk_import_upserts_variants_by_sku(
    client: httpx.AsyncClient, admin: UserSession, catalog: Catalog
) -> None:
    rows = [tshirt()]
    first = (await admin.client.post("/products/bulk", json=rows)).json()
    assert (first["created"], first["failed"]) == (1, [])
    again = (await admin.client.post("/products/bulk", json=rows)).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1)
    changed = tshirt()
    changed["variants"][0]["stock"] = 50
    changed["variants"] = changed["variants"][:1]  # an import never deletes a variant
    report = (await admin.client.post("/products/bulk", json=[changed])).json()
    assert (report["updated"], report["failed"]) == (1, [])
    listed = (await client.get("/products", params={"option": "Size:S"})).json()["items"]
    (tee,) = [item for item in listed if item["sku"] == "TEE"]
    assert len(tee["variants"]) == 6 and tee["stock"] == 54
    assert variant(tee, Size="S", Colour="Red")["stock"] == 50
    broken = tshirt(sku="TEE-3")
    broken["variants"][0]["option_values"] = {"Size": "XXL", "Colour": "Red"}
    report = (await admin.client.post("/products/bulk", json=[broken])).json()
    assert report["created"] == 0 and "XXL" in report["failed"][0]["detail"]
