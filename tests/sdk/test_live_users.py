"""``client.users`` (admin) against the real app."""

from __future__ import annotations

import uuid

import httpx
import pytest

import shopkit
from shopkit import AsyncShopClient
from tests.conftest import PASSWORD

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_list_and_search_users(admin_shop: AsyncShopClient, anon: AsyncShopClient) -> None:
    tag = uuid.uuid4().hex[:8]
    for i in range(3):
        await anon.auth.register(
            email=f"find-{tag}-{i}@example.com", password=PASSWORD, name=f"Findable {i}"
        )
    page = await admin_shop.users.list(q=f"find-{tag}", page_size=2)
    assert page.total == 3 and len(page.items) == 2 and page.has_next
    assert all(tag in u.email for u in page.items)
    rest = await page.next_page()
    assert rest is not None and len(rest.items) == 1
    every = [u.email async for u in admin_shop.users.iterate(q=f"find-{tag}", page_size=1)]
    assert sorted(every) == [f"find-{tag}-{i}@example.com" for i in range(3)]


async def test_customers_cannot_list_users(shopper: AsyncShopClient) -> None:
    with pytest.raises(shopkit.PermissionDeniedError):
        await shopper.users.list()


async def test_promote_and_disable(
    admin_shop: AsyncShopClient, asgi_http: httpx.AsyncClient
) -> None:
    email = f"promote-{uuid.uuid4().hex[:8]}@example.com"
    async with AsyncShopClient(http_client=asgi_http) as user:
        registered = await user.auth.register(email=email, password=PASSWORD, name="Bob")
    promoted = await admin_shop.users.update(registered.user.id, role="admin")
    assert promoted.role == "admin" and promoted.is_admin
    disabled = await admin_shop.users.update(registered.user.id, is_active=False)
    assert not disabled.is_active and disabled.role == "admin"
    async with AsyncShopClient(http_client=asgi_http) as user:
        with pytest.raises(shopkit.AccountDisabledError):
            await user.auth.login(email=email, password=PASSWORD)
    await admin_shop.users.update(registered.user.id, is_active=True)
    async with AsyncShopClient(http_client=asgi_http) as user:
        await user.auth.login(email=email, password=PASSWORD)


async def test_update_refusals(admin_shop: AsyncShopClient) -> None:
    with pytest.raises(shopkit.NotFoundError):
        await admin_shop.users.update("0" * 24, role="admin")
    with pytest.raises(shopkit.NotFoundError):
        await admin_shop.users.update("not-an-id", is_active=False)
    me = await admin_shop.auth.me()
    with pytest.raises(shopkit.CannotChangeSelfError):
        await admin_shop.users.update(me.id, role="customer")
