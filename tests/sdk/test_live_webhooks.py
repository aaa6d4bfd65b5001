"""``client.webhooks`` against the real app, and a receiver checking with ``verify``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx
from fastapi import FastAPI

import shopkit
import shopkit.webhooks
from shopkit import AsyncShopClient
from shopkit_server.settings import Settings
from shopkit_server.webhooks.dispatcher import Dispatcher
from tests.sdk.conftest import Catalog
from tests.sdk.test_live_orders import ADDRESS

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
HOOK = "http://receiver.test/hook"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhooks_allow_private": True, "background_tasks": False})


@pytest.fixture
def inbox() -> Iterator[list[httpx.Request]]:
    seen: list[httpx.Request] = []
    with respx.mock(assert_all_called=False) as router:
        router.post(HOOK).mock(side_effect=lambda r: seen.append(r) or httpx.Response(204))
        yield seen


async def test_webhooks_crud_deliveries_and_replay(
    app: FastAPI,
    admin_shop: AsyncShopClient,
    shopper: AsyncShopClient,
    catalog: Catalog,
    inbox: list[httpx.Request],
) -> None:
    created = await admin_shop.webhooks.create(url=HOOK, event_types=["order.placed"])
    assert created.secret.startswith("whsec_")
    assert [w.id for w in await admin_shop.webhooks.list()] == [created.id]
    assert (await admin_shop.webhooks.get(created.id)).url == HOOK
    updated = await admin_shop.webhooks.update(created.id, event_types=["*"])
    assert updated.event_types == ["*"]
    with pytest.raises(shopkit.PermissionDeniedError):
        await shopper.webhooks.list()

    await shopper.cart.add_item(catalog.cable.id, quantity=1)
    order = await shopper.orders.create(shipping_address=ADDRESS)
    await Dispatcher(app.state.ctx.store.webhooks, app.state.ctx.settings).run_once()
    (request,) = inbox
    event = shopkit.webhooks.verify(
        request.content, request.headers["shopkit-signature"], created.secret
    )
    assert (event["type"], event["data"]["order"]["id"]) == ("order.placed", order.id)

    page = await admin_shop.webhooks.deliveries(created.id)
    (delivery,) = page.items
    assert (delivery.state, delivery.event.id) == ("delivered", event["id"])
    replayed = await admin_shop.webhooks.replay(created.id, delivery.id)
    assert replayed.state == "pending"
    await admin_shop.webhooks.delete(created.id)
    with pytest.raises(shopkit.NotFoundError):
        await admin_shop.webhooks.get(created.id)
