"""Cursor pagination: a scroll over a list that changes underneath sees every item once."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.conftest import UserSession
from tests.server.cart.shop import ADDRESS, Shop, add


async def _scroll(
    client: httpx.AsyncClient,
    path: str,
    params: dict[str, Any],
    between: Any = None,
) -> tuple[list[str], int]:
    """Walk ``path`` by cursor, calling ``between(page_no, seen)`` after each page."""
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        reply = await client.get(path, params=query)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        if cursor is not None:
            assert body["page"] is None
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        assert pages < 50
        cursor = body["next_cursor"]
        assert body["has_next"] is (cursor is not None)
        if cursor is None:
            return seen, pages
        if between is not None:
            await between(pages, seen)


@pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc", "name"])
async def test_a_scroll_over_a_changing_catalog_sees_every_product_once(
    client: httpx.AsyncClient, admin: UserSession, sort: str
) -> None:
    shop = Shop(admin.client)
    # Equal prices and names in pairs: ties must be broken by a stable key.
    products = [
        await shop.product(price=f"{10 + i // 2}.00", name=f"Item {i // 2:02d}") for i in range(16)
    ]
    ids = [p["id"] for p in products]
    deleted: set[str] = set()
    added: list[str] = []

    async def change(page_no: int, seen: list[str]) -> None:
        # Delete one product already seen and one not seen yet; add two (cheapest and
        # dearest, so they land on both sides of the scroll whatever the sort).
        gone_seen = next(pid for pid in seen if pid not in deleted)
        ahead = [pid for pid in reversed(ids) if pid not in seen and pid not in deleted]
        for pid in [gone_seen, *ahead[:1]]:
            await shop.delete(pid)
            deleted.add(pid)
        for price in ("1.00", "99.00"):
            added.append((await shop.product(price=price, name=f"New {page_no}"))["id"])

    seen, pages = await _scroll(client, "/products", {"sort": sort, "page_size": 4}, change)
    assert pages >= 4
    assert len(seen) == len(set(seen)), "an item was seen twice"
    survivors = set(ids) - deleted
    assert survivors <= set(seen), f"missed {survivors - set(seen)}"
    assert not (set(ids) & deleted) - set(seen) - deleted
    # Deleted-before-seen products were never shown.
    assert not {pid for pid in deleted if pid not in seen} & set(seen)


async def test_page_numbers_keep_working_and_offer_a_cursor(
    client: httpx.AsyncClient, admin: UserSession
) -> None:
    shop = Shop(admin.client)
    for _ in range(5):
        await shop.product()
    first = (await client.get("/products", params={"page_size": 2})).json()
    assert first["page"] == 1 and first["has_next"] and first["next_cursor"]
    second = (await client.get("/products", params={"page_size": 2, "page": 2})).json()
    by_cursor = (
        await client.get("/products", params={"page_size": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [p["id"] for p in by_cursor["items"]] == [p["id"] for p in second["items"]]
    assert by_cursor["total"] == second["total"] == 5
    last = (await client.get("/products", params={"page_size": 2, "page": 3})).json()
    assert last["next_cursor"] is None and not last["has_next"]


# mongomock has no $text; SQLite and PostgreSQL search for real.
@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
async def test_a_search_scroll_is_stable_within_rank(
    client: httpx.AsyncClient, admin: UserSession
) -> None:
    shop = Shop(admin.client)
    ids = [(await shop.product(name=f"Lamp {'bright ' * (i % 3)}{i}"))["id"] for i in range(12)]

    async def change(page_no: int, seen: list[str]) -> None:
        # Writes that shift every bm25 score (SQLite): unrelated products and one more match.
        await shop.product(name=f"Chair {page_no} with a long description of nothing at all")
        ids.append((await shop.product(name=f"Lamp {page_no} extra"))["id"])

    seen, _ = await _scroll(client, "/products/search", {"q": "lamp", "page_size": 3}, change)
    assert len(seen) == len(set(seen))
    assert set(ids[:12]) <= set(seen)


async def test_order_history_scrolls_by_cursor_while_orders_are_placed(
    customer: UserSession, admin: UserSession
) -> None:
    shop = Shop(admin.client)
    product = await shop.product(stock=1000)
    placed: list[str] = []

    async def order() -> str:
        await add(customer.client, product["id"])
        reply = await customer.client.post("/orders", json={"shipping_address": ADDRESS})
        assert reply.status_code == 201, reply.text
        order_id: str = reply.json()["id"]
        return order_id

    for _ in range(7):
        placed.append(await order())

    async def more(page_no: int, seen: list[str]) -> None:
        await order()  # newest first: lands before the scroll's position

    seen, _ = await _scroll(customer.client, "/orders", {"page_size": 2}, more)
    assert seen == list(reversed(placed))


def _cursor(parts: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


async def test_a_bad_cursor_is_a_400_with_its_code(
    client: httpx.AsyncClient, admin: UserSession, customer: UserSession
) -> None:
    shop = Shop(admin.client)
    for _ in range(3):
        await shop.product()
    good = (await client.get("/products", params={"page_size": 1})).json()["next_cursor"]
    bad = [
        "not base64 !!",
        "AAAA",
        _cursor(["products", "newest"]),
        _cursor(["products", "newest", ["2026-01-01", "x"]]),
        _cursor(["products", "newest", [1, 2]]),
        _cursor(["products", "price_asc", ["1", 2]]),
        _cursor(["products", "newest", [True, 1]]),
        _cursor(["orders", "newest", ["2026-01-01T00:00:00+00:00", "0" * 24]]),
        _cursor({"k": 1}),  # type: ignore[arg-type]
    ]
    for cursor in bad:
        reply = await client.get("/products", params={"cursor": cursor})
        assert reply.status_code == 400, (cursor, reply.text)
        assert reply.json()["code"] == "invalid_cursor"
    # A cursor of one sort does not resume another.
    reply = await client.get("/products", params={"cursor": good, "sort": "name"})
    assert reply.status_code == 400 and reply.json()["code"] == "invalid_cursor"
    reply = await client.get("/products/search", params={"cursor": good, "q": "x"})
    assert reply.status_code == 400
    reply = await customer.client.get("/orders", params={"cursor": good})
    assert reply.status_code == 400 and reply.json()["code"] == "invalid_cursor"
    reply = await customer.client.get(
        "/orders", params={"cursor": _cursor(["orders", "newest", ["not a time", "zz"]])}
    )
    assert reply.status_code in (200, 400)  # a store may compare text keys as they are
    assert reply.status_code != 500
