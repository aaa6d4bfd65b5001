"""``client.auth`` recovery, ``client.addresses`` and guest carts against the real app."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI

import shopkit
from shopkit import AsyncShopClient
from shopkit.types import Address
from shopkit_server.mail import Message
from tests.conftest import PASSWORD
from tests.sdk.conftest import Catalog

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ADDRESS = {
    "full_name": "Ayesha Khan",
    "address_line1": "12 Mall Road",
    "city": "Lahore",
    "postal_code": "54000",
    "country": "PK",
    "phone": "+92 300 1234567",
}


class Captured:
    name = "captured"

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send(self, message: Message, *, sender: str) -> None:
        self.messages.append(message)

    def token(self, kind: str) -> str:
        found = [m for m in self.messages if m.kind == kind]
        match = re.search(r"^Token: (\S+)$", found[-1].body, re.MULTILINE)
        assert match
        return match.group(1)


@pytest.fixture
def mailbox(app: FastAPI) -> Captured:
    captured = Captured()
    app.state.ctx.mail.mailer = captured
    return captured


async def test_reset_and_verify_through_the_sdk(
    app: FastAPI, anon: AsyncShopClient, mailbox: Captured
) -> None:
    await anon.auth.register(email="sdk-reset@example.com", password=PASSWORD, name="Sdk")
    await app.state.ctx.mail.join()
    user = await anon.auth.verify_email(token=mailbox.token("email_verification"))
    assert user.email_verified is True
    with pytest.raises(shopkit.ConflictError):
        await anon.auth.resend_verification()
    await anon.auth.request_password_reset(email="sdk-reset@example.com")
    await app.state.ctx.mail.join()
    await anon.auth.confirm_password_reset(
        token=mailbox.token("password_reset"), new_password="a new long password"
    )
    with pytest.raises(shopkit.BadRequestError):
        await anon.auth.confirm_password_reset(
            token=mailbox.token("password_reset"), new_password="a new long password"
        )
    result = await anon.auth.login(email="sdk-reset@example.com", password="a new long password")
    assert result.user.email == "sdk-reset@example.com"


async def test_admins_mail_users(
    app: FastAPI, admin_shop: AsyncShopClient, shopper: AsyncShopClient, mailbox: Captured
) -> None:
    me = await shopper.auth.me()
    await admin_shop.users.send_password_reset(me.id)
    await admin_shop.users.send_verification(me.id)
    await app.state.ctx.mail.join()
    assert {m.kind for m in mailbox.messages} == {"password_reset", "email_verification"}


async def test_the_address_book(shopper: AsyncShopClient) -> None:
    first = await shopper.addresses.create(ADDRESS)
    assert first.is_default and first.country == "PK"
    second = await shopper.addresses.create(Address(**{**ADDRESS, "city": "Karachi"}))
    updated = await shopper.addresses.update(second.id, is_default=True, state="Sindh")
    assert updated.is_default and updated.state == "Sindh"
    assert (await shopper.addresses.get(first.id)).is_default is False
    assert [a.city for a in await shopper.addresses.list()] == ["Lahore", "Karachi"]
    await shopper.addresses.delete(first.id)
    with pytest.raises(shopkit.NotFoundError):
        await shopper.addresses.get(first.id)


async def test_the_client_keeps_a_guest_cart_and_hands_it_over(
    anon: AsyncShopClient, catalog: Catalog
) -> None:
    cart = await anon.cart.add_item(catalog.cable.id, quantity=2)
    assert anon.cart_token is not None and cart.cart_token == anon.cart_token
    cart = await anon.cart.add_item(catalog.cable.id)
    assert cart.total_items == 3 and (await anon.cart.get()).total_items == 3
    result = await anon.auth.register(email="sdk-guest@example.com", password=PASSWORD, name="G")
    assert result.cart_merge is not None and result.cart_merge.outcome == "merged"
    assert anon.cart_token is None
    assert (await anon.cart.get()).total_items == 3


async def test_checkout_ships_to_a_saved_address(
    shopper: AsyncShopClient, catalog: Catalog
) -> None:
    saved = await shopper.addresses.create(ADDRESS)
    await shopper.cart.add_item(catalog.cable.id)
    order = await shopper.orders.create(address_id=saved.id)
    assert order.shipping_address.city == "Lahore"
    with pytest.raises(ValueError, match="exactly one"):
        await shopper.orders.create()
