"""Booleans are strict in every body and query string: 0, 1, "yes" never toggle anything."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import MakeUser, UserSession
from tests.server.cart.shop import Shop

LOOSE = [0, 1, "false", "true", "0", "", None, 0.0, [], {}]


async def test_is_active_zero_does_not_deactivate_an_account(
    admin: UserSession, customer: UserSession
) -> None:
    for value in LOOSE:
        if value is None:
            continue  # null means "leave it"
        reply = await admin.client.patch(f"/auth/users/{customer.id}", json={"is_active": value})
        assert reply.status_code == 422, (value, reply.text)
        assert reply.json()["code"] == "validation_error"
    assert (await customer.client.get("/auth/me")).json()["is_active"] is True
    reply = await admin.client.patch(f"/auth/users/{customer.id}", json={"is_active": False})
    assert reply.status_code == 200 and reply.json()["is_active"] is False


async def test_product_flags_stay_strict(admin: UserSession) -> None:
    product = await Shop(admin.client).product()
    for value in (0, 1, "true", "false"):
        for flag in ("is_active", "is_featured"):
            reply = await admin.client.patch(f"/products/{product['id']}", json={flag: value})
            assert reply.status_code == 422, (flag, value, reply.text)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_query_flags_take_only_true_or_false(
    client: httpx.AsyncClient, admin: UserSession, make_user: MakeUser
) -> None:
    shop = Shop(admin.client)
    product = await shop.product()
    for loose in ("1", "0", "yes", "no", "on", "off", "True", "t", ""):
        for path, name in (
            ("/products", "in_stock"),
            ("/products", "featured"),
            ("/products/search?q=x", "in_stock"),
            ("/categories", "tree"),
            ("/orders", "all"),
        ):
            joiner = "&" if "?" in path else "?"
            reply = await admin.client.get(f"{path}{joiner}{name}={loose}")
            assert reply.status_code == 422, (path, name, loose, reply.text)
            assert reply.json()["code"] == "validation_error"
        inactive = await admin.client.get(f"/products/{product['id']}?include_inactive={loose}")
        assert inactive.status_code == 422, (loose, inactive.text)
    for word, total in (("true", 1), ("false", 0)):
        reply = await client.get(f"/products?in_stock={word}")
        assert reply.status_code == 200 and reply.json()["total"] == total
    assert (await client.get("/categories?tree=true")).status_code == 200
    assert (await admin.client.get("/orders?all=false")).status_code == 200
