"""GET /products/search: relevance, filters, prefixes and hostile input.

Full-text search needs a real text index: SQLite's FTS5, PostgreSQL's tsvector + GIN, MongoDB's
``$text`` on a real server. The mongomock stand-in has no ``$text``, so these tests skip it
(``mongo_real_only``) and run on a real MongoDB when ``SHOPKIT_TEST_MONGODB_URI`` is set.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import UserSession
from tests.server.products.conftest import Catalog

pytestmark = [pytest.mark.mongo_real_only, pytest.mark.usefixtures("catalog")]
# SQLite (FTS5) and PostgreSQL (tsvector) share one search semantics: AND, last word a prefix.
SQL_STORES = ("sqlite", "postgres")

HOSTILE = [
    '"',
    '""',
    '"unbalanced',
    "*",
    "headphones*",
    "OR",
    "a OR b",
    "AND",
    "NOT",
    "NEAR(",
    "NEAR(a b)",
    "(",
    ")",
    "((wireless",
    "wireless)",
    "-wireless",
    "+",
    "^",
    "name:wireless",
    "{name}: x",
    "'; DROP TABLE products; --",
    "\\",
    "%",
    "_",
    "\u00e9",
    "\U0001f3a7",
    "a" * 200,
    "wireless AND NOT",
    "col:*",
    'NEAR("a" "b", 2)',
]


async def search(client: httpx.AsyncClient, q: str, **params: str) -> list[str]:
    reply = await client.get("/products/search", params={"q": q, **params})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["total"] >= len(body["items"])
    return [item["name"] for item in body["items"]]


async def test_name_matches_rank_above_description_matches(client: httpx.AsyncClient) -> None:
    # "Smartphone" mentions headphones only in its description.
    assert await search(client, "headphones") == ["Wireless Headphones", "Smartphone"]


async def test_every_word_must_match_on_sql_stores(client: httpx.AsyncClient, backend: str) -> None:
    if backend not in SQL_STORES:
        pytest.skip("MongoDB's $text matches any word (ranked by score)")
    assert await search(client, "wireless speaker") == ["Bluetooth Speaker"]
    assert await search(client, "speaker coffee") == []


async def test_last_word_matches_as_a_prefix_on_sql_stores(
    client: httpx.AsyncClient, backend: str
) -> None:
    if backend not in SQL_STORES:
        pytest.skip("MongoDB's $text has no prefix matching")
    assert await search(client, "headph") == ["Wireless Headphones", "Smartphone"]
    assert await search(client, "COFF") == ["Coffee Grinder", "French Press"]


async def test_tags_are_searched(client: httpx.AsyncClient) -> None:
    assert await search(client, "outdoor") == ["Bluetooth Speaker"]


async def test_filters_apply_to_search(client: httpx.AsyncClient) -> None:
    assert await search(client, "wireless", category="Phones") == ["Smartphone"]
    assert set(await search(client, "wireless", max_price="100")) == {
        "Wireless Headphones",
        "Bluetooth Speaker",
    }
    assert await search(client, "coffee", in_stock="true") == ["Coffee Grinder"]
    assert await search(client, "headphones", featured="true", sort="price_desc") == [
        "Smartphone",
        "Wireless Headphones",
    ]


async def test_search_hides_inactive_products_except_for_admins(
    client: httpx.AsyncClient, admin: UserSession
) -> None:
    assert await search(client, "radio") == []
    assert await search(admin.client, "radio", include_inactive="true") == ["Old Radio"]


async def test_search_follows_edits(
    client: httpx.AsyncClient, admin: UserSession, catalog: Catalog
) -> None:
    pid = catalog.id("French Press")
    reply = await admin.client.patch(f"/products/{pid}", json={"name": "Cafetiere"})
    assert reply.status_code == 200
    assert await search(client, "cafetiere") == ["Cafetiere"]
    assert await search(client, "press") == []


async def test_search_pages(client: httpx.AsyncClient) -> None:
    reply = await client.get("/products/search", params={"q": "audio", "page_size": 2, "page": 2})
    body = reply.json()
    assert (body["total"], body["page"], len(body["items"]), body["has_next"]) == (3, 2, 1, False)


async def test_hostile_queries_are_answered_not_errors(client: httpx.AsyncClient) -> None:
    for q in HOSTILE:
        reply = await client.get("/products/search", params={"q": q})
        assert reply.status_code == 200, (q, reply.text)


async def test_operators_are_plain_words_on_sql_stores(
    client: httpx.AsyncClient, backend: str
) -> None:
    if backend not in SQL_STORES:
        pytest.skip("MongoDB's $text has no operators besides quotes and '-', both stripped")
    # Unquoted, FTS5 would read "wireless OR coffee" as either word (five products); quoted,
    # OR is a word that no product contains.
    assert await search(client, "wireless OR coffee") == []
    assert await search(client, "wireless NOT speaker") == []
    assert await search(client, "-speaker") == ["Bluetooth Speaker"]


async def test_bad_search_parameters_are_422(client: httpx.AsyncClient) -> None:
    for params in (
        {},
        {"q": ""},
        {"q": "x" * 201},
        {"q": "a", "page": "0"},
        {"q": "a", "sort": "best"},
    ):
        assert (await client.get("/products/search", params=params)).status_code == 422, params


async def test_search_items_are_whole_products(client: httpx.AsyncClient) -> None:
    # Ranked by relevance (the default) and by another sort, an item is the product as its own
    # read shows it: variants included (every product has at least its default variant).
    for params in ({}, {"sort": "price_asc"}):
        reply = await client.get("/products/search", params={"q": "wireless", **params})
        assert reply.status_code == 200, reply.text
        items = reply.json()["items"]
        assert items
        for item in items:
            alone = (await client.get(f"/products/{item['id']}")).json()
            assert item["variants"], (params, item["name"])
            assert item == alone, params
