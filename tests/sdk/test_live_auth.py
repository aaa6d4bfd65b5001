"""``client.auth`` against the real app: every method, the happy path and the refusals."""

from __future__ import annotations

import uuid

import httpx
import pytest

import shopkit
from shopkit import AsyncShopClient
from shopkit.types import TokenPair
from shopkit_server.security import Role, TokenCodec
from tests.conftest import PASSWORD, TEST_SECRET

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _email() -> str:
    return f"sdk-{uuid.uuid4().hex[:10]}@example.com"


async def test_register_logs_the_client_in(anon: AsyncShopClient) -> None:
    email = _email()
    result = await anon.auth.register(email=email.upper(), password=PASSWORD, name="Ada")
    assert result.user.email == email  # stored lower-cased
    assert result.user.role == "customer" and not result.user.is_admin
    assert result.tokens.token_type == "bearer" and result.tokens.expires_in > 0
    assert anon.access_token == result.tokens.access_token
    me = await anon.auth.me()
    assert me.id == result.user.id


async def test_register_refusals(anon: AsyncShopClient, shopper: AsyncShopClient) -> None:
    me = await shopper.auth.me()
    with pytest.raises(shopkit.EmailTakenError) as taken:
        await anon.auth.register(email=me.email, password=PASSWORD, name="Again")
    assert taken.value.status_code == 409 and taken.value.request_id
    with pytest.raises(shopkit.UnprocessableEntityError) as short:
        await anon.auth.register(email=_email(), password="s3cr3t!", name="Ada")
    assert str(short.value).startswith("422 validation_error: password:")
    assert "s3cr3t!" not in short.value.response.text  # never echoed back


async def test_login_and_bad_credentials(
    anon: AsyncShopClient, asgi_http: httpx.AsyncClient
) -> None:
    email = _email()
    async with AsyncShopClient(http_client=asgi_http) as other:
        await other.auth.register(email=email, password=PASSWORD, name="Ada")
    result = await anon.auth.login(email=email, password=PASSWORD)
    assert result.user.last_login is not None
    assert anon.refresh_token == result.tokens.refresh_token
    with pytest.raises(shopkit.InvalidCredentialsError):
        await anon.auth.login(email=email, password="wrong password")
    with pytest.raises(shopkit.InvalidCredentialsError):
        await anon.auth.login(email=_email(), password=PASSWORD)


async def test_me_without_login_is_an_authentication_error(anon: AsyncShopClient) -> None:
    with pytest.raises(shopkit.AuthenticationError) as info:
        await anon.auth.me()
    assert info.value.response.headers["WWW-Authenticate"] == "Bearer"


async def test_update_me(shopper: AsyncShopClient, anon: AsyncShopClient) -> None:
    renamed = await shopper.auth.update_me(name="Grace Hopper")
    assert renamed.name == "Grace Hopper"
    new_email = _email()
    moved = await shopper.auth.update_me(email=new_email)
    assert moved.email == new_email and moved.name == "Grace Hopper"
    taken = await anon.auth.register(email=_email(), password=PASSWORD, name="Other")
    with pytest.raises(shopkit.EmailTakenError):
        await shopper.auth.update_me(email=taken.user.email)


async def test_change_password(asgi_http: httpx.AsyncClient) -> None:
    email, new = _email(), "a much better password"
    async with AsyncShopClient(http_client=asgi_http) as shop:
        first = await shop.auth.register(email=email, password=PASSWORD, name="Ada")
        with pytest.raises(shopkit.InvalidCredentialsError):
            await shop.auth.change_password(current_password="not it at all", new_password=new)
        pair = await shop.auth.change_password(current_password=PASSWORD, new_password=new)
        assert shop.refresh_token == pair.refresh_token != first.tokens.refresh_token
        assert (await shop.auth.me()).email == email  # the fresh pair works
        # Every earlier refresh token was revoked.
        with pytest.raises(shopkit.AuthenticationError):
            await shop.auth.refresh(refresh_token=first.tokens.refresh_token)
    async with AsyncShopClient(http_client=asgi_http) as again:
        with pytest.raises(shopkit.InvalidCredentialsError):
            await again.auth.login(email=email, password=PASSWORD)
        await again.auth.login(email=email, password=new)


async def test_refresh_rotates_and_the_old_token_stops_working(shopper: AsyncShopClient) -> None:
    old = shopper.refresh_token
    pair = await shopper.auth.refresh()
    assert pair.refresh_token != old
    assert shopper.refresh_token == pair.refresh_token
    await shopper.auth.me()
    with pytest.raises(shopkit.InvalidTokenError):
        await shopper.auth.refresh(refresh_token=old)


async def test_logout_revokes_the_refresh_token(shopper: AsyncShopClient) -> None:
    token = shopper.refresh_token
    access = shopper.access_token
    await shopper.auth.logout()
    assert shopper.access_token is None and shopper.refresh_token is None
    with pytest.raises(shopkit.AuthenticationError):
        await shopper.auth.me()
    await shopper.set_tokens(
        TokenPair(access_token=access or "", refresh_token=token or "", expires_in=60)
    )
    with pytest.raises(shopkit.InvalidTokenError):
        await shopper.auth.refresh()


async def test_an_expired_access_token_is_refreshed_and_the_call_replayed(
    asgi_http: httpx.AsyncClient, anon: AsyncShopClient
) -> None:
    registered = await anon.auth.register(email=_email(), password=PASSWORD, name="Ada")
    expired = (
        TokenCodec(TEST_SECRET, access_minutes=-1)
        .issue(registered.user.id, Role.CUSTOMER)
        .access_token
    )
    rotated: list[TokenPair] = []
    async with AsyncShopClient(
        http_client=asgi_http,
        access_token=expired,
        refresh_token=registered.tokens.refresh_token,
        on_tokens=rotated.append,
    ) as shop:
        me = await shop.auth.me()
        assert me.id == registered.user.id
        assert shop.access_token != expired
    assert len(rotated) == 1 and rotated[0].access_token == shop.access_token
