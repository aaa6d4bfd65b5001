"""``client.payments`` against the real app: a manual payment, a Stripe intent (respx)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import respx

import shopkit
from shopkit import AsyncShopClient
from shopkit_server.settings import Settings
from tests.sdk.conftest import Catalog
from tests.sdk.test_live_orders import ADDRESS
from tests.server.payments.fake_stripe import API_BASE, SECRET_KEY, WEBHOOK_SECRET, FakeStripe

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": SECRET_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": API_BASE,
            "background_tasks": False,
        }
    )


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        yield fake


async def test_an_admin_records_a_cash_payment(
    shopper: AsyncShopClient, admin_shop: AsyncShopClient, catalog: Catalog
) -> None:
    await shopper.cart.add_item(catalog.cable.id, quantity=1)
    order = await shopper.orders.create(shipping_address=ADDRESS)
    assert (order.payment_method, order.payment_status, order.client_secret) == (
        "manual",
        "unpaid",
        None,
    )
    with pytest.raises(shopkit.BadRequestError) as wrong:
        await admin_shop.payments.record(order.id, amount=Decimal("1.00"))
    assert wrong.value.code == "payment_amount_mismatch"
    paid = await admin_shop.payments.record(order.id, amount=order.total)
    assert paid.payment_status == "paid"
    assert [h.payment_status for h in paid.status_history] == ["unpaid", "paid"]
    with pytest.raises(shopkit.ConflictError) as again:
        await admin_shop.payments.record(order.id)
    assert again.value.code == "order_already_paid"


async def test_a_stripe_checkout_and_its_intent(
    shopper: AsyncShopClient, catalog: Catalog, stripe: FakeStripe
) -> None:
    await shopper.cart.add_item(catalog.headphones.id, quantity=1)
    order = await shopper.orders.create(shipping_address=ADDRESS, payment_method="stripe")
    intent = stripe.only_intent()
    assert order.client_secret == intent["client_secret"]
    assert order.payment_intent_id == intent["id"]
    again = await shopper.payments.intent(order.id)
    assert (again.intent_id, again.client_secret, again.amount) == (
        intent["id"],
        intent["client_secret"],
        Decimal("104.99"),
    )
    assert again.currency == "usd"
