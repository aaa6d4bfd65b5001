"""/categories: the list and the tree, and every admin write with its failures."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import UserSession
from tests.server.products.conftest import Catalog


async def test_list_is_ordered_by_sort_order_then_name(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    reply = await client.get("/categories")
    assert reply.status_code == 200
    body = reply.json()
    assert [c["name"] for c in body] == ["Audio", "Coffee", "Electronics", "Kitchen", "Phones"]
    audio = body[0]
    assert audio == {
        "id": catalog.categories["Audio"].id,
        "name": "Audio",
        "slug": "audio",
        "parent_id": catalog.categories["Electronics"].id,
        "sort_order": 1,
    }


async def test_tree_nests_children(client: httpx.AsyncClient, catalog: Catalog) -> None:
    reply = await client.get("/categories", params={"tree": "true"})
    assert reply.status_code == 200
    tree = reply.json()

    def shape(nodes: list[dict[str, Any]]) -> list[Any]:
        return [(n["name"], shape(n["children"])) for n in nodes]

    assert shape(tree) == [
        ("Electronics", [("Audio", []), ("Phones", [])]),
        ("Kitchen", [("Coffee", [])]),
    ]
    assert tree[0]["children"][0]["parent_id"] == tree[0]["id"]


async def test_empty_store_has_no_categories(client: httpx.AsyncClient) -> None:
    assert (await client.get("/categories")).json() == []
    assert (await client.get("/categories", params={"tree": "true"})).json() == []


async def test_get_category(client: httpx.AsyncClient, catalog: Catalog) -> None:
    coffee = catalog.categories["Coffee"]
    reply = await client.get(f"/categories/{coffee.id}")
    assert reply.status_code == 200 and reply.json()["slug"] == "coffee"
    for missing in ("0" * 24, "nope"):
        reply = await client.get(f"/categories/{missing}")
        assert (reply.status_code, reply.json()["code"]) == (404, "category_not_found")


@pytest.mark.usefixtures("catalog")
async def test_create_category(admin: UserSession, client: httpx.AsyncClient) -> None:
    kitchen = next(c for c in (await client.get("/categories")).json() if c["name"] == "Kitchen")
    reply = await admin.client.post(
        "/categories",
        json={"name": "  Home & Garden Tools ", "parent_id": kitchen["id"], "sort_order": 5},
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert (body["name"], body["slug"], body["parent_id"], body["sort_order"]) == (
        "Home & Garden Tools",
        "home-garden-tools",
        kitchen["id"],
        5,
    )
    reply = await admin.client.post("/categories", json={"name": "Café Crème"})
    assert reply.json()["slug"] == "cafe-creme"


@pytest.mark.usefixtures("catalog")
async def test_duplicate_names_are_409(admin: UserSession) -> None:
    for name in ("Audio", "audio", "AUDIO", " Audio ", "áudio"):
        reply = await admin.client.post("/categories", json={"name": name})
        assert (reply.status_code, reply.json()["code"]) == (409, "category_exists"), name


@pytest.mark.usefixtures("catalog")
async def test_invalid_categories_are_422(admin: UserSession, client: httpx.AsyncClient) -> None:
    for body, code in (
        ({"name": "X", "parent_id": "0" * 24}, "unknown_parent"),
        ({"name": "X", "parent_id": "not-an-id"}, "unknown_parent"),
        ({"name": "!!!"}, "invalid_category_name"),
        ({"name": ""}, "validation_error"),
        ({"name": "x" * 101}, "validation_error"),
        ({"name": "X", "sort_order": "1"}, "validation_error"),
        ({"name": "X", "slug": "x"}, "validation_error"),
    ):
        reply = await admin.client.post("/categories", json=body)
        assert (reply.status_code, reply.json()["code"]) == (422, code), body
    assert len((await client.get("/categories")).json()) == 5


async def test_writes_need_an_admin(
    client: httpx.AsyncClient, customer: UserSession, catalog: Catalog
) -> None:
    audio = catalog.categories["Audio"].id
    for who, status in ((client, 401), (customer.client, 403)):
        assert (await who.post("/categories", json={"name": "New"})).status_code == status
        assert (await who.patch(f"/categories/{audio}", json={"name": "N"})).status_code == status
        assert (await who.delete(f"/categories/{audio}")).status_code == status
    assert len((await client.get("/categories")).json()) == 5


async def test_rename_carries_over_to_products(
    admin: UserSession, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    audio = catalog.categories["Audio"].id
    reply = await admin.client.patch(f"/categories/{audio}", json={"name": "Sound"})
    assert reply.status_code == 200
    assert (reply.json()["name"], reply.json()["slug"]) == ("Sound", "sound")
    product = await client.get(f"/products/{catalog.id('Wired Earbuds')}")
    assert product.json()["category"] == "Sound"
    listing = (await client.get("/products", params={"category": "sound"})).json()
    assert listing["total"] == 3
    assert (await client.get("/products", params={"category": "audio"})).json()["total"] == 0
    # The inactive product moved too.
    hidden = await admin.client.get(
        f"/products/{catalog.id('Old Radio')}", params={"include_inactive": "true"}
    )
    assert hidden.json()["category"] == "Sound"


async def test_move_reorder_and_make_root(
    admin: UserSession, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    coffee = catalog.categories["Coffee"].id
    electronics = catalog.categories["Electronics"].id
    reply = await admin.client.patch(
        f"/categories/{coffee}", json={"parent_id": electronics, "sort_order": 0}
    )
    assert reply.status_code == 200 and reply.json()["parent_id"] == electronics
    listing = (await client.get("/products", params={"category": "Electronics"})).json()
    assert listing["total"] == 8  # the coffee products now sit under Electronics
    reply = await admin.client.patch(f"/categories/{coffee}", json={"parent_id": None})
    assert reply.status_code == 200 and reply.json()["parent_id"] is None
    roots = [n["name"] for n in (await client.get("/categories?tree=true")).json()]
    assert roots == ["Coffee", "Electronics", "Kitchen"]


async def test_cycles_are_refused(admin: UserSession, catalog: Catalog) -> None:
    electronics = catalog.categories["Electronics"].id
    audio = catalog.categories["Audio"].id
    child = await admin.client.post("/categories", json={"name": "Headphones", "parent_id": audio})
    for target, parent in (
        (electronics, electronics),
        (electronics, audio),
        (electronics, child.json()["id"]),
        (audio, child.json()["id"]),
    ):
        reply = await admin.client.patch(f"/categories/{target}", json={"parent_id": parent})
        assert (reply.status_code, reply.json()["code"]) == (422, "category_cycle")
    reply = await admin.client.get("/categories")
    assert next(c for c in reply.json() if c["name"] == "Electronics")["parent_id"] is None


async def test_patch_failures(admin: UserSession, catalog: Catalog) -> None:
    audio = catalog.categories["Audio"].id
    reply = await admin.client.patch(f"/categories/{audio}", json={"name": "phones"})
    assert (reply.status_code, reply.json()["code"]) == (409, "category_exists")
    reply = await admin.client.patch(f"/categories/{audio}", json={"parent_id": "0" * 24})
    assert (reply.status_code, reply.json()["code"]) == (422, "unknown_parent")
    reply = await admin.client.patch(f"/categories/{audio}", json={"name": None})
    assert reply.status_code == 422
    reply = await admin.client.patch("/categories/" + "0" * 24, json={"name": "X"})
    assert (reply.status_code, reply.json()["code"]) == (404, "category_not_found")


async def test_delete_is_refused_while_in_use(
    admin: UserSession, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    electronics = catalog.categories["Electronics"].id
    reply = await admin.client.delete(f"/categories/{electronics}")
    assert (reply.status_code, reply.json()["code"]) == (409, "category_in_use")
    assert "1 product" in reply.json()["detail"] and "2 sub-categories" in reply.json()["detail"]
    # Only soft-deleted products left: still in use (reviving them needs the category).
    audio = catalog.categories["Audio"].id
    for name in ("Wireless Headphones", "Wired Earbuds", "Bluetooth Speaker"):
        await admin.client.delete(f"/products/{catalog.id(name)}")
    reply = await admin.client.delete(f"/categories/{audio}")
    assert (reply.status_code, reply.json()["code"]) == (409, "category_in_use")
    assert len((await client.get("/categories")).json()) == 5


async def test_delete_an_unused_category(admin: UserSession, client: httpx.AsyncClient) -> None:
    created = (await admin.client.post("/categories", json={"name": "Empty"})).json()
    reply = await admin.client.delete(f"/categories/{created['id']}")
    assert (reply.status_code, reply.content) == (204, b"")
    assert (await client.get(f"/categories/{created['id']}")).status_code == 404
    assert (await admin.client.delete(f"/categories/{created['id']}")).status_code == 404
    assert (await admin.client.delete("/categories/bad-id")).status_code == 404


async def test_racing_creates_of_one_name_make_one_category(
    admin: UserSession, client: httpx.AsyncClient
) -> None:
    replies = await asyncio.gather(
        *(
            admin.client.post("/categories", json={"name": name})
            for name in ["Garden", "garden", "GARDEN", " Garden", "Garden "] * 2
        )
    )
    assert sorted(r.status_code for r in replies) == [201] + [409] * 9
    assert [c["slug"] for c in (await client.get("/categories")).json()] == ["garden"]
