"""POST /products/bulk: upsert by sku, each row on its own, with a report."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import UserSession

pytestmark = pytest.mark.usefixtures("catalog")


def row(sku: str | None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"Item {sku}",
        "price": "10.00",
        "category": "Kitchen",
        **fields,
    }
    if sku is not None:
        body["sku"] = sku
    return body


async def by_sku(client: httpx.AsyncClient, sku: str) -> dict[str, Any]:
    items = (await client.get("/products", params={"page_size": 100})).json()["items"]
    return next(item for item in items if item["sku"] == sku)


async def test_mixed_rows_are_reported_one_by_one(
    admin: UserSession, client: httpx.AsyncClient
) -> None:
    rows: list[Any] = [
        row("K-1", stock=3, tags=["New"]),  # 0 created
        row("K-2", price="10.001"),  # 1 bad price
        row("SMARTPHONE", name="Smartphone 2", price="649.00"),  # 2 updates an existing sku
        row("K-3", category="Garden"),  # 3 unknown category
        "not an object",  # 4
        row("K-1", name="Again"),  # 5 repeats row 0's sku
        row(None, name="No sku"),  # 6 created (no sku to match)
        {"sku": "K-4", "price": "1.00"},  # 7 missing name and category
        row("K-5", id="0" * 24),  # 8 unknown field
    ]
    reply = await admin.client.post("/products/bulk", json=rows)
    assert reply.status_code == 200, reply.text
    report = reply.json()
    assert (report["created"], report["updated"]) == (2, 1)
    failed = {f["index"]: f for f in report["failed"]}
    assert [f["index"] for f in report["failed"]] == [1, 3, 4, 5, 7, 8]
    assert failed[1]["sku"] == "K-2" and "price" in failed[1]["detail"]
    assert failed[3]["sku"] == "K-3" and "Garden" in failed[3]["detail"]
    assert failed[4]["sku"] is None
    assert "index 0" in failed[5]["detail"]
    assert "name" in failed[7]["detail"] and "category" in failed[7]["detail"]
    assert "id" in failed[8]["detail"]

    created = await by_sku(client, "K-1")
    assert (created["name"], created["stock"], created["tags"]) == ("Item K-1", 3, ["new"])
    phone = await by_sku(client, "SMARTPHONE")
    assert (phone["name"], phone["price"]) == ("Smartphone 2", 649.0)
    # Fields the row did not carry kept their values.
    assert (phone["stock"], phone["tags"], phone["is_featured"]) == (10, ["wireless"], True)
    listing = (await client.get("/products", params={"category": "Kitchen"})).json()
    assert {p["name"] for p in listing["items"]} >= {"Item K-1", "No sku"}
    assert not any(p["sku"] in ("K-2", "K-3", "K-4", "K-5") for p in listing["items"])


async def test_reimporting_the_same_rows_writes_nothing(
    admin: UserSession, client: httpx.AsyncClient
) -> None:
    rows = [row(f"R-{i}", stock=i) for i in range(5)]
    first = (await admin.client.post("/products/bulk", json=rows)).json()
    assert (first["created"], first["updated"], first["unchanged"], first["failed"]) == (
        5,
        0,
        0,
        [],
    )
    before = {
        p["sku"]: p
        for p in (await client.get("/products", params={"page_size": 100})).json()["items"]
    }
    again = (await admin.client.post("/products/bulk", json=rows)).json()
    assert (again["created"], again["updated"], again["unchanged"], again["failed"]) == (
        0,
        0,
        5,
        [],
    )
    after = {
        p["sku"]: p
        for p in (await client.get("/products", params={"page_size": 100})).json()["items"]
    }
    assert after == before  # updated_at untouched: nothing was written

    # One field differs in one row: that row is updated, the others stay unchanged.
    rows[2] = row("R-2", stock=99)
    third = (await admin.client.post("/products/bulk", json=rows)).json()
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 1, 4)
    changed = {
        p["sku"]: p
        for p in (await client.get("/products", params={"page_size": 100})).json()["items"]
    }
    assert (
        changed["R-2"]["stock"] == 99
        and changed["R-2"]["updated_at"] != before["R-2"]["updated_at"]
    )
    assert changed["R-1"] == before["R-1"]


async def test_import_can_revive_and_hide(admin: UserSession, client: httpx.AsyncClient) -> None:
    reply = await admin.client.post(
        "/products/bulk",
        json=[
            row("OLD-RADIO", name="Old Radio", category="Audio", is_active=True),
            row("TELEVISION", name="Television", category="Electronics", is_active=False),
        ],
    )
    assert reply.json()["updated"] == 2
    names = {p["name"] for p in (await client.get("/products")).json()["items"]}
    assert "Old Radio" in names and "Television" not in names


async def test_a_full_batch_of_500(admin: UserSession, client: httpx.AsyncClient) -> None:
    rows = [row(f"B-{i:03}", price=f"{i + 1}.99") for i in range(500)]
    reply = await admin.client.post("/products/bulk", json=rows)
    assert reply.json() == {"created": 500, "updated": 0, "unchanged": 0, "failed": []}
    total = (await client.get("/products", params={"category": "Kitchen"})).json()["total"]
    assert total == 502


@pytest.mark.parametrize(
    "body", [[], [row(f"X-{i}") for i in range(501)], {"products": []}, "rows", None]
)
async def test_bad_batches_are_422_and_write_nothing(
    admin: UserSession, client: httpx.AsyncClient, body: Any
) -> None:
    reply = await admin.client.post("/products/bulk", json=body)
    assert reply.status_code == 422
    assert (await client.get("/products", params={"category": "Kitchen"})).json()["total"] == 2


async def test_bulk_needs_an_admin(client: httpx.AsyncClient, customer: UserSession) -> None:
    assert (await client.post("/products/bulk", json=[row("A")])).status_code == 401
    assert (await customer.client.post("/products/bulk", json=[row("A")])).status_code == 403
