"""GET /products and /products/featured: filters, sorts and pages against the known catalog."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shopkit_server import pagination
from tests.conftest import UserSession
from tests.server.products.conftest import ACTIVE, NEWEST_FIRST, Catalog

pytestmark = pytest.mark.usefixtures("catalog")


async def listed(client: httpx.AsyncClient, path: str = "/products", **params: Any) -> list[str]:
    reply = await client.get(path, params={"page_size": 100, **params})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["total"] == len(body["items"])
    return [item["name"] for item in body["items"]]


async def test_default_listing_is_active_newest_first(client: httpx.AsyncClient) -> None:
    assert await listed(client) == NEWEST_FIRST


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sort": "newest"}, NEWEST_FIRST),
        (
            {"sort": "price_asc"},
            [
                "Phone Case",
                "Wired Earbuds",
                "French Press",
                "Bluetooth Speaker",
                "Wireless Headphones",
                "Coffee Grinder",
                "Television",
                "Smartphone",
            ],
        ),
        (
            {"sort": "price_desc"},
            [
                "Smartphone",
                "Television",
                "Coffee Grinder",
                "Wireless Headphones",
                "Bluetooth Speaker",
                "French Press",
                "Wired Earbuds",
                "Phone Case",
            ],
        ),
        ({"sort": "name"}, sorted(ACTIVE)),
    ],
)
async def test_sorts(
    client: httpx.AsyncClient, params: dict[str, str], expected: list[str]
) -> None:
    assert await listed(client, **params) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # A category includes its sub-categories, and is found by name or slug in any case.
        (
            {"category": "Electronics"},
            {
                "Wireless Headphones",
                "Wired Earbuds",
                "Bluetooth Speaker",
                "Smartphone",
                "Phone Case",
                "Television",
            },
        ),
        ({"category": "audio"}, {"Wireless Headphones", "Wired Earbuds", "Bluetooth Speaker"}),
        ({"category": "KITCHEN"}, {"Coffee Grinder", "French Press"}),
        ({"category": "No such category"}, set()),
        (
            {"min_price": "49", "max_price": "129.00"},
            {"Bluetooth Speaker", "Wireless Headphones", "Coffee Grinder"},
        ),
        ({"min_price": "500"}, {"Smartphone"}),
        ({"max_price": "19.5"}, {"Phone Case", "Wired Earbuds"}),
        ({"tags": "wireless"}, {"Wireless Headphones", "Bluetooth Speaker", "Smartphone"}),
        ({"tags": ["audio", "wireless"]}, {"Wireless Headphones", "Bluetooth Speaker"}),
        ({"tags": "audio,Wireless,outdoor"}, {"Bluetooth Speaker"}),
        ({"tags": ["audio", "coffee"]}, set()),
        ({"in_stock": "true", "category": "Audio"}, {"Wireless Headphones", "Bluetooth Speaker"}),
        ({"in_stock": "false"}, {"Wired Earbuds", "French Press"}),
        ({"featured": "true"}, {"Wireless Headphones", "Smartphone", "Coffee Grinder"}),
        (
            {"featured": "true", "category": "electronics", "max_price": "100"},
            {"Wireless Headphones"},
        ),
        (
            {"category": "Electronics", "tags": "wireless", "in_stock": "true", "min_price": "50"},
            {"Wireless Headphones", "Smartphone"},
        ),
    ],
)
async def test_filters(
    client: httpx.AsyncClient, params: dict[str, Any], expected: set[str]
) -> None:
    assert set(await listed(client, **params)) == expected


async def test_filters_and_sort_combine(client: httpx.AsyncClient) -> None:
    names = await listed(client, category="Electronics", tags="wireless", sort="price_asc")
    assert names == ["Bluetooth Speaker", "Wireless Headphones", "Smartphone"]


async def test_pages_carry_exact_total_and_has_next(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    for page in (1, 2, 3):
        reply = await client.get("/products", params={"page": page, "page_size": 3})
        body = reply.json()
        assert (body["total"], body["page"], body["page_size"]) == (8, page, 3)
        assert body["has_next"] is (page < 3)
        seen.extend(item["name"] for item in body["items"])
    assert seen == NEWEST_FIRST
    beyond = (await client.get("/products", params={"page": 9, "page_size": 3})).json()
    assert (beyond["items"], beyond["total"], beyond["has_next"]) == ([], 8, False)


async def test_bad_query_parameters_are_422(client: httpx.AsyncClient) -> None:
    for params in (
        {"page": 0},
        {"page": -1},
        {"page": "abc"},
        {"page_size": 0},
        {"page_size": 101},
        {"sort": "cheapest"},
        {"sort": "relevance"},
        {"min_price": "-1"},
        {"min_price": "1.001"},
        {"max_price": "abc"},
        {"max_price": "NaN"},
        {"in_stock": "maybe"},
    ):
        for path in ("/products", "/products/featured"):
            reply = await client.get(path, params=params)
            assert reply.status_code == 422, (path, params)
            assert isinstance(reply.json()["detail"], list)


async def test_inverted_price_range_is_422(client: httpx.AsyncClient) -> None:
    reply = await client.get("/products", params={"min_price": "50", "max_price": "10"})
    assert reply.status_code == 422
    assert reply.json()["code"] == "invalid_price_range"


async def test_too_many_tags_is_422(client: httpx.AsyncClient) -> None:
    reply = await client.get("/products", params={"tags": [f"t{i}" for i in range(11)]})
    assert reply.status_code == 422


async def test_featured_endpoint(client: httpx.AsyncClient) -> None:
    assert await listed(client, "/products/featured") == [
        "Coffee Grinder",
        "Smartphone",
        "Wireless Headphones",
    ]
    assert await listed(client, "/products/featured", category="Electronics", sort="price_asc") == [
        "Wireless Headphones",
        "Smartphone",
    ]


async def test_include_inactive_is_for_admins_only(
    client: httpx.AsyncClient, customer: UserSession, admin: UserSession
) -> None:
    reply = await client.get("/products", params={"include_inactive": "true"})
    assert reply.status_code == 401
    reply = await customer.client.get("/products", params={"include_inactive": "true"})
    assert (reply.status_code, reply.json()["code"]) == (403, "forbidden")
    assert "Old Radio" not in await listed(customer.client)
    names = await listed(admin.client, include_inactive="true", category="audio")
    assert set(names) == {"Wireless Headphones", "Wired Earbuds", "Bluetooth Speaker", "Old Radio"}


async def test_items_have_the_contract_shape(client: httpx.AsyncClient, catalog: Catalog) -> None:
    reply = await client.get("/products", params={"tags": "outdoor"})
    (item,) = reply.json()["items"]
    assert set(item) == {
        "id",
        "sku",
        "name",
        "description",
        "price",
        "category",
        "tags",
        "image_url",
        "stock",
        "is_active",
        "is_featured",
        "created_at",
        "updated_at",
        # variants (issue 12)
        "base_price",
        "in_stock",
        "options",
        "variants",
        "images",
    }
    assert item["id"] == catalog.id("Bluetooth Speaker")
    assert (item["price"], item["category"], item["stock"]) == (49.0, "Audio", 3)
    assert item["tags"] == ["audio", "wireless", "outdoor"]


async def test_a_capped_total_says_so_and_paging_goes_on(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = (await client.get("/products", params={"page_size": 2})).json()
    assert (exact["total"], exact["total_exact"]) == (len(ACTIVE), True)
    monkeypatch.setattr(pagination, "COUNT_CAP", 4)
    first = (await client.get("/products", params={"page_size": 3})).json()
    assert (first["total"], first["total_exact"], first["has_next"]) == (4, False, True)
    # Page 2 ends past the capped total: more follow all the same, and the last page says not.
    second = (await client.get("/products", params={"page_size": 3, "page": 2})).json()
    assert (second["total"], second["total_exact"], second["has_next"]) == (4, False, True)
    seen = [item["name"] for item in first["items"] + second["items"]]
    page = 3
    while True:
        reply = (await client.get("/products", params={"page_size": 3, "page": page})).json()
        seen += [item["name"] for item in reply["items"]]
        if not reply["has_next"]:
            break
        page += 1
    assert seen == NEWEST_FIRST
