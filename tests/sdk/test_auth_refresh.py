"""Tokens: kept after login, sent on every call, refreshed once on expiry, replayed."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import respx

import shopkit
from shopkit import AsyncShopClient
from shopkit.types import TokenPair
from tests.sdk import payloads
from tests.sdk.payloads import BASE

EXPIRED = {"detail": "Invalid or expired access token.", "code": "invalid_token"}


def _bearer(request: httpx.Request) -> str | None:
    return request.headers.get("Authorization")


async def test_login_keeps_tokens_and_sends_them(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    login = api.post("/auth/login").respond(
        200, json={"user": payloads.user(), "tokens": payloads.tokens(1)}
    )
    me = api.get("/auth/me").respond(200, json=payloads.user())
    result = await shop.auth.login(email="ada@example.com", password="pw-123456")
    assert result.user.email == "ada@example.com"
    assert shop.access_token == "access-1" and shop.refresh_token == "refresh-1"
    assert _bearer(login.calls.last.request) is None  # login itself sends no token
    assert json.loads(login.calls.last.request.content) == {
        "email": "ada@example.com",
        "password": "pw-123456",
    }
    await shop.auth.me()
    assert _bearer(me.calls.last.request) == "Bearer access-1"


async def test_register_keeps_tokens_and_calls_async_on_tokens(api: respx.MockRouter) -> None:
    seen: list[TokenPair] = []

    async def persist(tokens: TokenPair) -> None:
        await asyncio.sleep(0)
        seen.append(tokens)

    api.post("/auth/register").respond(
        201, json={"user": payloads.user(), "tokens": payloads.tokens(1)}
    )
    async with AsyncShopClient(base_url=BASE, on_tokens=persist) as shop:
        await shop.auth.register(email="ada@example.com", password="pw-123456", name="Ada")
        assert shop.access_token == "access-1"
    assert [t.refresh_token for t in seen] == ["refresh-1"]


async def test_expired_token_is_refreshed_once_and_the_request_replayed(
    api: respx.MockRouter,
) -> None:
    seen: list[str] = []
    me = api.get("/auth/me").mock(
        side_effect=lambda req: (
            httpx.Response(401, json=EXPIRED)
            if _bearer(req) == "Bearer access-1"
            else httpx.Response(200, json=payloads.user())
        )
    )
    refresh = api.post("/auth/refresh").respond(200, json=payloads.tokens(2))
    async with AsyncShopClient(
        base_url=BASE,
        access_token="access-1",
        refresh_token="refresh-1",
        on_tokens=lambda t: seen.append(t.access_token),
    ) as shop:
        user = await shop.auth.me()
        assert user.id == "u1"
        assert shop.access_token == "access-2" and shop.refresh_token == "refresh-2"
    assert refresh.call_count == 1
    assert json.loads(refresh.calls.last.request.content) == {"refresh_token": "refresh-1"}
    assert _bearer(refresh.calls.last.request) is None
    assert [_bearer(c.request) for c in me.calls] == ["Bearer access-1", "Bearer access-2"]
    assert seen == ["access-2"]


async def test_checkout_replayed_after_refresh_keeps_its_idempotency_key(
    api: respx.MockRouter,
) -> None:
    orders = api.post("/orders").mock(
        side_effect=lambda req: (
            httpx.Response(401, json=EXPIRED)
            if _bearer(req) == "Bearer access-1"
            else httpx.Response(201, json=payloads.order())
        )
    )
    api.post("/auth/refresh").respond(200, json=payloads.tokens(2))
    async with AsyncShopClient(
        base_url=BASE, access_token="access-1", refresh_token="refresh-1"
    ) as shop:
        await shop.orders.create(shipping_address=payloads.ADDRESS)
    keys = [c.request.headers["Idempotency-Key"] for c in orders.calls]
    assert len(keys) == 2 and keys[0] == keys[1]


async def test_refresh_failure_surfaces_authentication_error_without_looping(
    api: respx.MockRouter,
) -> None:
    me = api.get("/auth/me").respond(401, json=EXPIRED)
    refresh = api.post("/auth/refresh").respond(
        401, json={"detail": "Invalid or expired refresh token.", "code": "invalid_token"}
    )
    async with AsyncShopClient(
        base_url=BASE, access_token="access-1", refresh_token="refresh-1"
    ) as shop:
        with pytest.raises(shopkit.AuthenticationError) as info:
            await shop.auth.me()
    assert "refresh token" in info.value.detail
    assert me.call_count == 1
    assert refresh.call_count == 1


async def test_a_second_401_after_refresh_is_raised_not_refreshed_again(
    api: respx.MockRouter,
) -> None:
    me = api.get("/auth/me").respond(401, json=EXPIRED)
    refresh = api.post("/auth/refresh").respond(200, json=payloads.tokens(2))
    async with AsyncShopClient(
        base_url=BASE, access_token="access-1", refresh_token="refresh-1"
    ) as shop:
        with pytest.raises(shopkit.InvalidTokenError):
            await shop.auth.me()
    assert me.call_count == 2
    assert refresh.call_count == 1


async def test_without_a_refresh_token_the_401_stands(api: respx.MockRouter) -> None:
    api.get("/auth/me").respond(401, json=EXPIRED)
    refresh = api.post("/auth/refresh")
    async with AsyncShopClient(base_url=BASE, access_token="access-1") as shop:
        with pytest.raises(shopkit.AuthenticationError):
            await shop.auth.me()
    assert refresh.call_count == 0


async def test_wrong_current_password_is_not_mistaken_for_an_expired_token(
    api: respx.MockRouter,
) -> None:
    api.post("/auth/change-password").respond(
        401, json={"detail": "Wrong password.", "code": "invalid_credentials"}
    )
    refresh = api.post("/auth/refresh")
    async with AsyncShopClient(
        base_url=BASE, access_token="access-1", refresh_token="refresh-1"
    ) as shop:
        with pytest.raises(shopkit.InvalidCredentialsError):
            await shop.auth.change_password(current_password="nope", new_password="x" * 10)
        assert shop.access_token == "access-1"
    assert refresh.call_count == 0


async def test_bad_login_is_not_refreshed(api: respx.MockRouter) -> None:
    api.post("/auth/login").respond(
        401, json={"detail": "Invalid email or password.", "code": "invalid_credentials"}
    )
    refresh = api.post("/auth/refresh")
    async with AsyncShopClient(
        base_url=BASE, access_token="access-1", refresh_token="refresh-1"
    ) as shop:
        with pytest.raises(shopkit.InvalidCredentialsError):
            await shop.auth.login(email="a@b.c", password="wrong-password")
    assert refresh.call_count == 0


async def test_concurrent_requests_share_one_refresh(api: respx.MockRouter) -> None:
    n = 8
    arrived = 0
    all_arrived = asyncio.Event()

    async def protected(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        if _bearer(request) == "Bearer access-1":
            # Hold every first attempt until all n are in flight with the stale token.
            arrived += 1
            if arrived == n:
                all_arrived.set()
            await all_arrived.wait()
            return httpx.Response(401, json=EXPIRED)
        return httpx.Response(200, json=payloads.user())

    async def do_refresh(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)  # a slow refresh: the others must wait for it, not repeat it
        return httpx.Response(200, json=payloads.tokens(2))

    me = api.get("/auth/me").mock(side_effect=protected)
    refresh = api.post("/auth/refresh").mock(side_effect=do_refresh)
    async with AsyncShopClient(
        base_url=BASE, access_token="access-1", refresh_token="refresh-1"
    ) as shop:
        users = await asyncio.gather(*(shop.auth.me() for _ in range(n)))
    assert len(users) == n
    assert refresh.call_count == 1
    assert me.call_count == 2 * n


async def test_client_built_from_a_refresh_token_alone_refreshes_first(
    api: respx.MockRouter,
) -> None:
    refresh = api.post("/auth/refresh").respond(200, json=payloads.tokens(2))
    me = api.get("/auth/me").respond(200, json=payloads.user())
    async with AsyncShopClient(base_url=BASE, refresh_token="refresh-1") as shop:
        await shop.auth.me()
    assert refresh.call_count == 1
    assert _bearer(me.calls.last.request) == "Bearer access-2"


async def test_manual_refresh_rotates_tokens(api: respx.MockRouter) -> None:
    api.post("/auth/refresh").respond(200, json=payloads.tokens(3))
    async with AsyncShopClient(
        base_url=BASE, access_token="access-1", refresh_token="refresh-1"
    ) as shop:
        pair = await shop.auth.refresh()
        assert pair.access_token == "access-3" == shop.access_token
        assert shop.refresh_token == "refresh-3"


async def test_change_password_keeps_the_fresh_pair(api: respx.MockRouter) -> None:
    route = api.post("/auth/change-password").respond(200, json=payloads.tokens(4))
    async with AsyncShopClient(
        base_url=BASE, access_token="access-1", refresh_token="refresh-1"
    ) as shop:
        await shop.auth.change_password(current_password="old-pass-1", new_password="new-pass-1")
        assert shop.access_token == "access-4" and shop.refresh_token == "refresh-4"
    assert json.loads(route.calls.last.request.content) == {
        "current_password": "old-pass-1",
        "new_password": "new-pass-1",
    }


async def test_logout_revokes_and_forgets_the_tokens(api: respx.MockRouter) -> None:
    logout = api.post("/auth/logout").respond(204)
    featured = api.get("/products/featured").respond(200, json=payloads.page([], total=0))
    async with AsyncShopClient(
        base_url=BASE, access_token="access-1", refresh_token="refresh-1"
    ) as shop:
        await shop.auth.logout()
        assert shop.access_token is None and shop.refresh_token is None
        await shop.products.featured()
    assert json.loads(logout.calls.last.request.content) == {"refresh_token": "refresh-1"}
    assert _bearer(logout.calls.last.request) == "Bearer access-1"
    assert _bearer(featured.calls.last.request) is None
    with pytest.raises(ValueError, match="no refresh token"):
        await shop.auth.logout()


async def test_access_token_from_the_environment(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPKIT_ACCESS_TOKEN", "env-token")
    me = api.get("/auth/me").respond(200, json=payloads.user())
    async with AsyncShopClient(base_url=BASE) as shop:
        await shop.auth.me()
    assert _bearer(me.calls.last.request) == "Bearer env-token"


async def test_with_options_copies_share_the_tokens(api: respx.MockRouter) -> None:
    api.post("/auth/login").respond(
        200, json={"user": payloads.user(), "tokens": payloads.tokens(1)}
    )
    me = api.get("/auth/me").respond(200, json=payloads.user())
    async with AsyncShopClient(base_url=BASE) as shop:
        await shop.with_options(max_retries=0).auth.login(email="a@b.c", password="pw-123456")
        await shop.auth.me()
    assert _bearer(me.calls.last.request) == "Bearer access-1"


def test_repr_never_shows_tokens() -> None:
    shop = AsyncShopClient(base_url=BASE, access_token="secret-access", refresh_token="secret-r")
    assert "secret" not in repr(shop)
    assert repr(shop) == f"<AsyncShopClient {BASE} authenticated>"
