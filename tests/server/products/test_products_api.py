"""GET/POST/PATCH/DELETE /products/{id}: every row of the contract and its failures."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.conftest import UserSession
from tests.server.products.conftest import Catalog

MALFORMED_IDS = [
    "abc",
    "0" * 23,
    "0" * 25,
    "ZZZZZZZZZZZZZZZZZZZZZZZZ",
    "6B07DA7D1336A31B1578E611",
    "%2E%2E",
    "null",
]


def new_product(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Desk Lamp", "price": "39.90", "category": "Kitchen"}
    body.update(overrides)
    return body


# -- GET /products/{id} --------------------------------------------------------------------


async def test_get_product(client: httpx.AsyncClient, catalog: Catalog) -> None:
    product = catalog.products["Smartphone"]
    reply = await client.get(f"/products/{product.id}")
    assert reply.status_code == 200
    body = reply.json()
    assert body["id"] == product.id
    assert (body["name"], body["price"], body["sku"]) == ("Smartphone", 699.0, "SMARTPHONE")
    assert body["is_featured"] is True and body["is_active"] is True
    created = datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert created.utcoffset() is not None and created == product.created_at


async def test_malformed_ids_are_404(client: httpx.AsyncClient) -> None:
    for product_id in MALFORMED_IDS:
        reply = await client.get(f"/products/{product_id}")
        assert reply.status_code == 404, product_id
        assert reply.json()["code"] in ("product_not_found", "not_found")


async def test_missing_and_inactive_products_are_404(
    client: httpx.AsyncClient, catalog: Catalog, customer: UserSession
) -> None:
    reply = await client.get("/products/" + "0" * 24)
    assert (reply.status_code, reply.json()["code"]) == (404, "product_not_found")
    hidden = catalog.id("Old Radio")
    assert (await client.get(f"/products/{hidden}")).status_code == 404
    assert (await customer.client.get(f"/products/{hidden}")).status_code == 404


async def test_admins_can_read_inactive_products(
    client: httpx.AsyncClient, catalog: Catalog, customer: UserSession, admin: UserSession
) -> None:
    hidden = catalog.id("Old Radio")
    params = {"include_inactive": "true"}
    assert (await client.get(f"/products/{hidden}", params=params)).status_code == 401
    assert (await customer.client.get(f"/products/{hidden}", params=params)).status_code == 403
    reply = await admin.client.get(f"/products/{hidden}", params=params)
    assert reply.status_code == 200 and reply.json()["is_active"] is False
    # Without asking, an admin sees what everyone sees.
    assert (await admin.client.get(f"/products/{hidden}")).status_code == 404


# -- POST /products ------------------------------------------------------------------------


@pytest.mark.usefixtures("catalog")
async def test_create_product(admin: UserSession, client: httpx.AsyncClient) -> None:
    reply = await admin.client.post(
        "/products",
        json=new_product(
            sku=" LAMP-1 ",
            tags=["Lighting", " lighting ", "Desk  Lamp"],
            stock=4,
            image_url="https://img.example/lamp.png",
            description="  Warm light.  ",
            category="kitchen",
        ),
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["sku"] == "LAMP-1"
    assert body["price"] == 39.9
    assert body["category"] == "Kitchen"  # the canonical name, whatever case was sent
    assert body["tags"] == ["lighting", "desk lamp"]
    assert body["description"] == "Warm light."
    assert (body["stock"], body["is_active"], body["is_featured"]) == (4, True, False)
    assert body["created_at"] == body["updated_at"]
    assert (await client.get(f"/products/{body['id']}")).json() == body


async def test_create_needs_an_admin(
    client: httpx.AsyncClient, customer: UserSession, catalog: Catalog
) -> None:
    reply = await client.post("/products", json=new_product())
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"
    assert (await customer.client.post("/products", json=new_product())).status_code == 403
    listing = (await client.get("/products", params={"category": "Kitchen"})).json()
    assert listing["total"] == 2  # nothing was written


@pytest.mark.usefixtures("catalog")
async def test_duplicate_sku_is_409(admin: UserSession) -> None:
    reply = await admin.client.post("/products", json=new_product(sku="SMARTPHONE"))
    assert (reply.status_code, reply.json()["code"]) == (409, "sku_taken")


@pytest.mark.usefixtures("catalog")
async def test_unknown_category_is_422(admin: UserSession) -> None:
    reply = await admin.client.post("/products", json=new_product(category="Garden"))
    assert (reply.status_code, reply.json()["code"]) == (422, "unknown_category")


INVALID: list[dict[str, Any]] = [
    {"price": "10.001"},
    {"price": 0},
    {"price": -5},
    {"price": "NaN"},
    {"price": "Infinity"},
    {"price": "abc"},
    {"price": None},
    {"name": "   "},
    {"name": "x" * 201},
    {"stock": -1},
    {"stock": "5"},
    {"stock": 1.5},
    {"is_featured": "yes"},
    {"tags": ["ok", ""]},
    {"tags": ["a,b"]},
    {"tags": [f"t{i}" for i in range(21)]},
    {"sku": "has space"},
    {"image_url": "javascript:alert(1)"},
    {"image_url": "ftp://x/y.png"},
    {"id": "0" * 24},
    {"created_at": "2020-01-01T00:00:00Z"},
    {"category": ""},
]


@pytest.mark.usefixtures("catalog")
async def test_invalid_products_are_422(admin: UserSession, client: httpx.AsyncClient) -> None:
    for overrides in INVALID:
        reply = await admin.client.post("/products", json=new_product(**overrides))
        assert reply.status_code == 422, overrides
        assert all("input" not in error for error in reply.json()["detail"])  # nothing echoed
    assert (await client.get("/products", params={"category": "Kitchen"})).json()["total"] == 2


@pytest.mark.usefixtures("catalog")
async def test_required_fields(admin: UserSession) -> None:
    reply = await admin.client.post("/products", json={"name": "Lamp"})
    assert reply.status_code == 422
    missing = {tuple(error["loc"]) for error in reply.json()["detail"]}
    assert missing == {("body", "price"), ("body", "category")}


# -- PATCH /products/{id} ------------------------------------------------------------------


async def test_patch_changes_only_what_is_sent(admin: UserSession, catalog: Catalog) -> None:
    product = catalog.products["Phone Case"]
    reply = await admin.client.patch(
        f"/products/{product.id}", json={"price": 17.25, "tags": ["Case"], "image_url": None}
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["price"], body["tags"], body["name"], body["stock"]) == (
        17.25,
        ["case"],
        "Phone Case",
        100,
    )
    assert body["updated_at"] >= body["created_at"]
    assert (
        body["created_at"]
        == (await admin.client.get(f"/products/{product.id}")).json()["created_at"]
    )


async def test_patch_sku_and_category_rules(admin: UserSession, catalog: Catalog) -> None:
    pid = catalog.id("Phone Case")
    reply = await admin.client.patch(f"/products/{pid}", json={"sku": "SMARTPHONE"})
    assert (reply.status_code, reply.json()["code"]) == (409, "sku_taken")
    reply = await admin.client.patch(f"/products/{pid}", json={"category": "Garden"})
    assert (reply.status_code, reply.json()["code"]) == (422, "unknown_category")
    reply = await admin.client.patch(f"/products/{pid}", json={"category": "coffee", "sku": None})
    assert reply.status_code == 200
    assert (reply.json()["category"], reply.json()["sku"]) == ("Coffee", None)
    # The freed sku can be used again.
    reply = await admin.client.patch(
        f"/products/{catalog.id('Television')}", json={"sku": "PHONE-CASE"}
    )
    assert reply.status_code == 200


async def test_patch_validation(admin: UserSession, catalog: Catalog) -> None:
    for body in (
        {"name": None},
        {"price": None},
        {"stock": None},
        {"is_active": None},
        {"price": "1.999"},
        {"role": "admin"},
        {"id": "0" * 24},
        {"stock": -3},
    ):
        reply = await admin.client.patch(f"/products/{catalog.id('Phone Case')}", json=body)
        assert reply.status_code == 422, body


async def test_patch_failures(
    admin: UserSession, customer: UserSession, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    pid = catalog.id("Phone Case")
    assert (await client.patch(f"/products/{pid}", json={"stock": 1})).status_code == 401
    assert (await customer.client.patch(f"/products/{pid}", json={"stock": 1})).status_code == 403
    assert (await admin.client.patch("/products/" + "0" * 24, json={"stock": 1})).status_code == 404
    assert (await admin.client.patch("/products/nope", json={"stock": 1})).status_code == 404
    assert (await client.get(f"/products/{pid}")).json()["stock"] == 100


async def test_empty_patch_returns_the_product(admin: UserSession, catalog: Catalog) -> None:
    pid = catalog.id("Phone Case")
    reply = await admin.client.patch(f"/products/{pid}", json={})
    assert reply.status_code == 200 and reply.json()["name"] == "Phone Case"


# -- DELETE /products/{id} -----------------------------------------------------------------


async def test_soft_delete_is_idempotent_and_revivable(
    admin: UserSession, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    pid = catalog.id("Television")
    assert (await admin.client.delete(f"/products/{pid}")).status_code == 204
    assert (await client.get(f"/products/{pid}")).status_code == 404
    assert "Television" not in [p["name"] for p in (await client.get("/products")).json()["items"]]
    again = await admin.client.delete(f"/products/{pid}")
    assert (again.status_code, again.content) == (204, b"")
    hidden = await admin.client.get(f"/products/{pid}", params={"include_inactive": "true"})
    assert hidden.json()["is_active"] is False and hidden.json()["stock"] == 2
    revived = await admin.client.patch(f"/products/{pid}", json={"is_active": True})
    assert revived.status_code == 200 and revived.json()["is_active"] is True
    assert (await client.get(f"/products/{pid}")).status_code == 200


async def test_delete_failures(
    admin: UserSession, customer: UserSession, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    pid = catalog.id("Television")
    assert (await client.delete(f"/products/{pid}")).status_code == 401
    assert (await customer.client.delete(f"/products/{pid}")).status_code == 403
    assert (await admin.client.delete("/products/" + "0" * 24)).status_code == 404
    assert (await admin.client.delete("/products/xyz")).status_code == 404
    assert (await client.get(f"/products/{pid}")).status_code == 200


# -- concurrency ---------------------------------------------------------------------------


@pytest.mark.usefixtures("catalog")
async def test_racing_creates_with_one_sku_make_one_product(
    admin: UserSession, client: httpx.AsyncClient
) -> None:
    replies = await asyncio.gather(
        *(
            admin.client.post("/products", json=new_product(sku="RACE-1", name=f"Racer {i}"))
            for i in range(10)
        )
    )
    assert sorted(r.status_code for r in replies) == [201] + [409] * 9
    assert all(r.json()["code"] == "sku_taken" for r in replies if r.status_code == 409)
    listing = (await client.get("/products", params={"category": "Kitchen"})).json()
    assert [p["sku"] for p in listing["items"]].count("RACE-1") == 1


async def test_blank_optional_fields_are_null(admin: UserSession) -> None:
    # Forms send an empty optional field as "" or blanks: stored as null, like an absent one.
    root = await admin.client.post("/categories", json={"name": "Blank Root", "parent_id": " "})
    assert root.status_code == 201, root.text
    assert root.json()["parent_id"] is None
    reply = await admin.client.post(
        "/products",
        json={
            "name": "Lamp",
            "price": "1.00",
            "category": "Blank Root",
            "sku": "",
            "image_url": " ",
        },
    )
    assert reply.status_code == 201, reply.text
    assert (reply.json()["sku"], reply.json()["image_url"]) == (None, None)
    pid = reply.json()["id"]
    changed = await admin.client.patch(f"/products/{pid}", json={"sku": "LAMP-1"})
    assert changed.json()["sku"] == "LAMP-1"
    cleared = await admin.client.patch(f"/products/{pid}", json={"sku": "  ", "image_url": ""})
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["sku"], cleared.json()["image_url"]) == (None, None)
