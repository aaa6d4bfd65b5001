"""Redis unreachable (a closed port): the shop keeps working on in-process state, no 500s.

Chosen per use: throttling fails open to this process's own counters (limits still hold per
process, a warning is logged); the catalog cache falls back to its TTL; account states are
read from the store (never from a cache that might miss a deactivation); revoked families are
kept in this process, the store still refuses their refresh tokens.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from shopkit_server.accounts import CachingAccountDirectory, StoreAccountDirectory
from shopkit_server.settings import Settings
from tests.conftest import PASSWORD, UserSession, api_client
from tests.redis_support import CLOSED_REDIS_URL
from tests.server.cart.shop import Shop

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "redis_url": CLOSED_REDIS_URL,
            "redis_timeout_seconds": 0.2,
            "login_failures_before_backoff": 3,
            "login_backoff_seconds": 600.0,
        }
    )


async def test_every_request_is_served_while_redis_is_down(
    app: FastAPI, admin: UserSession, customer: UserSession
) -> None:
    directory = app.state.ctx.accounts
    assert isinstance(directory, CachingAccountDirectory)
    assert isinstance(directory.inner, StoreAccountDirectory)

    shop = Shop(admin.client)
    product = await shop.product(price="10.00", stock=5)
    changed = await admin.client.patch(f"/products/{product['id']}", json={"price": "11.00"})
    assert changed.status_code == 200, changed.text
    async with api_client(app) as anon:
        read = await anon.get(f"/products/{product['id']}")
        assert read.status_code == 200
        assert read.json()["price"] == 11.0

        add = {"product_id": product["id"], "quantity": 1}
        assert (await customer.client.post("/cart/items", json=add)).status_code == 200

        # Throttling still holds, per process: three failures lock the account.
        statuses = [
            (
                await anon.post(
                    "/auth/login", json={"email": customer.email, "password": "wrong password"}
                )
            ).status_code
            for _ in range(4)
        ]
        assert statuses == [401, 401, 401, 429]

    # A deactivation is seen at once: the directory reads the store while Redis is down.
    disabled = await admin.client.patch(f"/auth/users/{customer.id}", json={"is_active": False})
    assert disabled.status_code == 200, disabled.text
    refused = await customer.client.post(
        "/cart/items", json={"product_id": product["id"], "quantity": 1}
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "account_disabled"
    async with api_client(app) as anon:
        other_login = await anon.post(
            "/auth/login", json={"email": admin.email, "password": PASSWORD}
        )
        assert other_login.status_code == 200
        # Refresh-token reuse still revokes the family, in this process and in the store.
        rotated = await anon.post("/auth/refresh", json={"refresh_token": admin.refresh_token})
        assert rotated.status_code == 200
        reused = await anon.post("/auth/refresh", json={"refresh_token": admin.refresh_token})
        assert reused.status_code == 401
    stopped = await admin.client.get("/auth/me")
    assert stopped.status_code == 401
    assert stopped.json()["code"] == "invalid_token"
