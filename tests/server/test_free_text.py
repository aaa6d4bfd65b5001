"""Free text refuses control and bidi-override characters everywhere, and keeps real RTL text."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import UserSession
from tests.server.cart.shop import ADDRESS, Shop, add, checkout

# NUL, another C0 control, DEL, a C1 control, an override and an isolate (Trojan Source).
BAD = ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\u202e", "\u202a", "\u2066", "\u2069"]


def _bad_in(text: str) -> list[str]:
    return [f"{text[:2]}{ch}{text[2:]}" for ch in BAD]


async def _is_refused(reply: httpx.Response) -> None:
    assert reply.status_code == 422, reply.text
    assert reply.json()["code"] == "validation_error"
    # The refused text is not echoed back.
    assert not any(ch in reply.text for ch in ("\x00", "\u202e", "\x1b"))


async def test_product_and_category_text_refuses_control_characters(
    client: httpx.AsyncClient, admin: UserSession
) -> None:
    assert (await admin.client.post("/categories", json={"name": "Audio"})).status_code == 201
    good: dict[str, Any] = {"name": "Lamp", "price": "1.00", "category": "Audio"}
    for bad in _bad_in("Night lamp"):
        for body in (
            {**good, "name": bad},
            {**good, "tags": ["ok", bad]},
            {**good, "category": bad},
            {**good, "description": bad},
            {**good, "image_url": f"https://example.com/{bad}.png"},
        ):
            await _is_refused(await admin.client.post("/products", json=body))
        report = await admin.client.post("/products/bulk", json=[{**good, "name": bad}])
        assert report.status_code == 200 and report.json()["created"] == 0
        assert "control" in report.json()["failed"][0]["detail"]
        await _is_refused(await admin.client.post("/categories", json={"name": bad}))
    # Nothing was stored: no product, and the only category is the good one.
    assert (await client.get("/products")).json()["total"] == 0
    assert [c["name"] for c in (await client.get("/categories")).json()] == ["Audio"]
    category = (await client.get("/categories")).json()[0]
    for bad in _bad_in("Sound"):
        await _is_refused(
            await admin.client.patch(f"/categories/{category['id']}", json={"name": bad})
        )
    product = (await admin.client.post("/products", json=good)).json()
    for bad in _bad_in("Desk lamp"):
        for field in ("name", "description"):
            await _is_refused(
                await admin.client.patch(f"/products/{product['id']}", json={field: bad})
            )
    assert (await client.get(f"/products/{product['id']}")).json()["name"] == "Lamp"


async def test_user_names_and_addresses_refuse_control_characters(
    client: httpx.AsyncClient, customer: UserSession, admin: UserSession
) -> None:
    for bad in _bad_in("Mallory"):
        await _is_refused(
            await client.post(
                "/auth/register",
                json={"email": "m@example.com", "password": "long enough", "name": bad},
            )
        )
        await _is_refused(await customer.client.patch("/auth/me", json={"name": bad}))
        await _is_refused(await customer.client.patch("/auth/me", json={"email": f"m{bad}@x.io"}))
    assert (await customer.client.get("/auth/me")).json()["name"] == "Test User"
    product = await Shop(admin.client).product("5.00", stock=5)
    await add(customer.client, product["id"], 1)
    for field in ("full_name", "address_line1", "address_line2", "city", "state", "postal_code"):
        for bad in _bad_in("Clifton 75500"):
            await _is_refused(await checkout(customer.client, address={**ADDRESS, field: bad}))
    assert (await customer.client.get("/orders")).json()["total"] == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_right_to_left_text_and_multi_line_descriptions_are_kept(
    client: httpx.AsyncClient, admin: UserSession, customer: UserSession
) -> None:
    arabic, hebrew = "سماعات لاسلكية", "אוזניות \u200fאלחוטיות"  # noqa: RUF001
    assert (await admin.client.post("/categories", json={"name": hebrew})).status_code == 201
    description = "Line one\r\nLine two\n\tindented"
    reply = await admin.client.post(
        "/products",
        json={
            "name": arabic,
            "description": description,
            "price": "9.99",
            "category": hebrew,
            "tags": ["صوت"],
        },
    )
    assert reply.status_code == 201, reply.text
    stored = (await client.get(f"/products/{reply.json()['id']}")).json()
    assert (stored["name"], stored["description"], stored["category"], stored["tags"]) == (
        arabic,
        description,
        hebrew,
        ["صوت"],
    )
    renamed = await customer.client.patch("/auth/me", json={"name": "عائشة خان"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "عائشة خان"
    # A tab or newline inside a single-line field is refused, not silently made a space.
    await _is_refused(await admin.client.post("/categories", json={"name": "Two\nLines"}))
    await _is_refused(
        await admin.client.patch(f"/products/{stored['id']}", json={"tags": ["a\tb"]})
    )
