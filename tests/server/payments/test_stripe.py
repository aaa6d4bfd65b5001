"""Paying with Stripe (its API answered by respx), on every store: the anchors' races."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shopkit_server.clock import utc_now
from shopkit_server.store import Store
from tests.conftest import UserSession
from tests.server.cart.shop import ADDRESS, Shop, add
from tests.server.orders.gate import OverlapGate
from tests.server.payments.fake_stripe import FakeStripe, event_payload, stripe_signature

SUCCEEDED = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"


@pytest.fixture
async def shop(admin: UserSession) -> Shop:
    return Shop(admin.client)


async def pay_with_stripe(client: httpx.AsyncClient, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await client.post(
        "/orders",
        json={"shipping_address": ADDRESS, "payment_method": "stripe"},
        headers=headers,
    )


async def send_event(
    client: httpx.AsyncClient, kind: str, intent: dict[str, Any], event_id: str | None = None
) -> httpx.Response:
    payload = event_payload(kind, intent, event_id)
    return await client.post(
        "/payments/stripe/webhook",
        content=payload,
        headers={"Stripe-Signature": stripe_signature(payload), "Content-Type": "application/json"},
    )


async def order_of(admin: UserSession, order_id: str) -> dict[str, Any]:
    reply = await admin.client.get(f"/orders/{order_id}")
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def history(order: dict[str, Any]) -> list[tuple[str, str]]:
    return [(h["status"], h["payment_status"]) for h in order["status_history"]]


async def event_types(store: Store, order_id: str) -> list[str]:
    return [e.type for e in await store.webhooks.events(f"order:{order_id}")]


async def test_checkout_makes_one_intent_for_the_exact_total_and_returns_its_secret(
    customer: UserSession, shop: Shop, stripe: FakeStripe
) -> None:
    product = await shop.product("19.99", stock=5)
    await add(customer.client, product["id"], 3)
    reply = await pay_with_stripe(customer.client)
    assert reply.status_code == 201, reply.text
    order = reply.json()
    intent = stripe.only_intent()
    # 3 x 19.99 = 59.97, tax 5% = 3.00 (half-up from 2.9985): 62.97 -> 6297 cents, exactly.
    assert order["total"] == 62.97
    assert (intent["amount"], intent["currency"]) == (6297, "usd")
    assert intent["metadata"] == {"order_id": order["id"]}
    assert order["client_secret"] == intent["client_secret"]
    assert (order["payment_method"], order["payment_status"]) == ("stripe", "unpaid")
    assert order["payment_intent_id"] == intent["id"]
    # Asking again (the app lost the secret) returns the same intent, not a new one.
    again = await customer.client.post(f"/orders/{order['id']}/payment-intent")
    assert again.status_code == 200, again.text
    assert (again.json()["intent_id"], again.json()["client_secret"]) == (
        intent["id"],
        intent["client_secret"],
    )
    assert again.json()["amount"] == 62.97
    assert len(stripe.intents) == 1


async def test_the_same_event_three_times_settles_once(
    customer: UserSession, admin: UserSession, shop: Shop, stripe: FakeStripe, store: Store
) -> None:
    """Vendure's Stripe plugin settled one webhook delivered three times three times."""
    product = await shop.product("10.00", stock=5)
    await add(customer.client, product["id"])
    order = (await pay_with_stripe(customer.client)).json()
    intent = stripe.only_intent()
    anonymous = httpx.AsyncClient(transport=customer.client._transport, base_url="http://test/api")
    async with anonymous:
        replies = await asyncio.gather(
            *(send_event(anonymous, SUCCEEDED, intent, event_id="evt_same") for _ in range(3))
        )
    assert [r.status_code for r in replies] == [200, 200, 200]
    paid = await order_of(admin, order["id"])
    assert (paid["status"], paid["payment_status"]) == ("confirmed", "paid")
    assert history(paid) == [("pending", "unpaid"), ("confirmed", "paid")]
    assert await event_types(store, order["id"]) == [
        "order.placed",
        "order.paid",
        "order.status_changed",
    ]


async def test_a_webhook_before_the_checkout_answer_makes_no_second_intent(
    customer: UserSession,
    admin: UserSession,
    shop: Shop,
    stripe: FakeStripe,
    client: httpx.AsyncClient,
) -> None:
    """Saleor #19220: a webhook racing checkout made a second PaymentIntent."""
    product = await shop.product("10.00", stock=5)
    await add(customer.client, product["id"])
    early: list[httpx.Response] = []

    async def pay_before_stripe_answers(intent: dict[str, Any]) -> None:
        # The customer pays and Stripe's webhook lands before checkout has even heard back.
        early.append(await send_event(client, SUCCEEDED, {**intent, "status": "succeeded"}))

    stripe.on_create = pay_before_stripe_answers
    reply = await pay_with_stripe(customer.client, key="tap-1")
    assert reply.status_code == 201, reply.text
    assert [r.status_code for r in early] == [200]
    stripe.on_create = None
    # The app retries the checkout (same key) and asks for the intent again: still one intent.
    retried = await pay_with_stripe(customer.client, key="tap-1")
    assert retried.json()["id"] == reply.json()["id"]
    await customer.client.post(f"/orders/{reply.json()['id']}/payment-intent")
    assert len(stripe.intents) == 1
    order = await order_of(admin, reply.json()["id"])
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    assert order["payment_intent_id"] == stripe.only_intent()["id"]


@pytest.mark.parametrize("same_key", [True, False])
async def test_two_concurrent_checkouts_of_one_cart_make_one_order_and_one_intent(
    app: FastAPI,
    customer: UserSession,
    shop: Shop,
    stripe: FakeStripe,
    store: Store,
    same_key: bool,
) -> None:
    """Vendure #2620: a customer paid twice through two intents for one cart."""
    product = await shop.product("10.00", stock=5)
    await add(customer.client, product["id"], 2)
    key = "double-tap" if same_key else None
    if store.checkout is not None:
        # SQLite, PostgreSQL: both requests must be inside the one store operation at once.
        place = store.checkout.place_order
        inside: list[object] = []
        both_in = asyncio.Event()

        async def gated(placement: Any) -> Any:
            inside.append(placement)
            if len(inside) == 2:
                both_in.set()
            await asyncio.wait_for(both_in.wait(), 10)
            return await place(placement)

        store.checkout.place_order = gated  # type: ignore[method-assign]
        replies = await asyncio.gather(*(pay_with_stripe(customer.client, key) for _ in range(2)))
        assert len(inside) == 2  # they overlapped in the store
    else:
        # MongoDB compensates: one checkout holds the cart while the other answers.
        service = app.state.ctx.orders
        gate = OverlapGate(service.products, racers=2)
        service.products = gate
        replies = await asyncio.gather(
            *(gate.answer(pay_with_stripe(customer.client, key)) for _ in range(2))
        )
        assert gate.opened_at is not None and gate.opened_at[0] >= 1  # they overlapped
    placed = [r for r in replies if r.status_code == 201]
    assert len({r.json()["id"] for r in placed}) == 1
    if not same_key:
        assert Counter(r.status_code for r in replies)[201] == 1
        assert {r.json()["code"] for r in replies if r.status_code != 201} <= {
            "checkout_in_progress",
            "cart_empty",
        }
    assert len(stripe.intents) == 1
    assert {r.json()["client_secret"] for r in placed} == {stripe.only_intent()["client_secret"]}
    assert await shop.stock(product["id"]) == 3
    assert (await customer.client.get("/orders")).json()["total"] == 1


async def test_a_failed_payment_is_retried_on_the_same_order_and_intent(
    customer: UserSession,
    admin: UserSession,
    shop: Shop,
    stripe: FakeStripe,
    client: httpx.AsyncClient,
    store: Store,
) -> None:
    """Medusa #6745: after a failed payment the same cart/order could not be paid again."""
    product = await shop.product("10.00", stock=5)
    await add(customer.client, product["id"])
    order = (await pay_with_stripe(customer.client)).json()
    intent = stripe.only_intent()
    assert (await send_event(client, FAILED, intent)).status_code == 200
    failed = await order_of(admin, order["id"])
    assert (failed["status"], failed["payment_status"]) == ("pending", "failed")
    retry = await customer.client.post(f"/orders/{order['id']}/payment-intent")
    assert retry.status_code == 200
    assert (retry.json()["intent_id"], retry.json()["client_secret"]) == (
        intent["id"],
        intent["client_secret"],
    )
    assert retry.json()["payment_status"] == "failed"
    assert (await send_event(client, SUCCEEDED, intent)).status_code == 200
    # A failure Stripe sends late (out of order) changes nothing once paid.
    assert (await send_event(client, FAILED, intent)).status_code == 200
    paid = await order_of(admin, order["id"])
    assert history(paid) == [("pending", "unpaid"), ("pending", "failed"), ("confirmed", "paid")]
    assert len(stripe.intents) == 1
    assert await event_types(store, order["id"]) == [
        "order.placed",
        "order.paid",
        "order.status_changed",
    ]


async def test_an_unpaid_order_times_out_and_its_stock_comes_back(
    app: FastAPI,
    customer: UserSession,
    admin: UserSession,
    shop: Shop,
    stripe: FakeStripe,
    client: httpx.AsyncClient,
) -> None:
    """Medusa #13625: stock stayed reserved for orders that never completed."""
    product = await shop.product("10.00", stock=5)
    await add(customer.client, product["id"], 2)
    order = (await pay_with_stripe(customer.client)).json()
    assert await shop.stock(product["id"]) == 3
    ctx = app.state.ctx
    timeout = timedelta(minutes=ctx.settings.payment_timeout_minutes)
    # Not yet due: nothing happens.
    assert await ctx.orders.expire_unpaid(utc_now(), timeout) == 0
    assert await ctx.orders.expire_unpaid(utc_now() + timeout + timedelta(seconds=1), timeout) == 1
    expired = await order_of(admin, order["id"])
    assert (expired["status"], expired["payment_status"]) == ("cancelled", "unpaid")
    assert await shop.stock(product["id"]) == 5
    assert stripe.cancelled == [stripe.only_intent()["id"]]
    # A manual order is never timed out (cash on delivery is paid later by design).
    await add(customer.client, product["id"])
    manual = await customer.client.post("/orders", json={"shipping_address": ADDRESS})
    assert await ctx.orders.expire_unpaid(utc_now() + timeout * 10, timeout) == 0
    assert (await order_of(admin, manual.json()["id"]))["status"] == "pending"
    # If the customer paid anyway just before the cancel reached Stripe, it is refunded.
    assert (await send_event(client, SUCCEEDED, stripe.only_intent())).status_code == 200
    refunded = await order_of(admin, order["id"])
    assert (refunded["status"], refunded["payment_status"]) == ("cancelled", "refunded")
    assert [r["payment_intent"] for r in stripe.refunds] == [stripe.only_intent()["id"]]


async def test_cancelling_a_paid_order_refunds_it_once(
    customer: UserSession,
    admin: UserSession,
    shop: Shop,
    stripe: FakeStripe,
    client: httpx.AsyncClient,
    store: Store,
) -> None:
    product = await shop.product("10.00", stock=5)
    await add(customer.client, product["id"])
    order = (await pay_with_stripe(customer.client)).json()
    await send_event(client, SUCCEEDED, stripe.only_intent())
    replies = await asyncio.gather(
        *(customer.client.post(f"/orders/{order['id']}/cancel") for _ in range(2))
    )
    assert sorted(r.status_code for r in replies) == [200, 409]
    cancelled = await order_of(admin, order["id"])
    assert (cancelled["status"], cancelled["payment_status"]) == ("cancelled", "refunded")
    assert len(stripe.refunds) == 1
    assert stripe.refunds[0]["key"] == f"shopkit-refund-{order['id']}"
    assert await event_types(store, order["id"]) == [
        "order.placed",
        "order.paid",
        "order.status_changed",
        "order.cancelled",
        "order.refunded",
    ]
    assert await shop.stock(product["id"]) == 5


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "t=1,v1=00",
        "garbage",
        "stale",
        "wrong-secret",
    ],
)
async def test_a_bad_signature_is_400_with_a_code(
    client: httpx.AsyncClient, stripe: FakeStripe, signature: str | None
) -> None:
    payload = event_payload(SUCCEEDED, {"id": "pi_x", "metadata": {"order_id": "x"}})
    headers: dict[str, str] = {}
    if signature == "stale":
        headers["Stripe-Signature"] = stripe_signature(payload, at=int(time.time()) - 3600)
    elif signature == "wrong-secret":
        headers["Stripe-Signature"] = stripe_signature(payload, secret="whsec_other")
    elif signature is not None:
        headers["Stripe-Signature"] = signature
    reply = await client.post("/payments/stripe/webhook", content=payload, headers=headers)
    assert (reply.status_code, reply.json()["code"]) == (400, "invalid_signature")


async def test_unknown_events_and_orders_are_acknowledged_and_ignored(
    client: httpx.AsyncClient, stripe: FakeStripe
) -> None:
    for kind, intent in [
        ("charge.refunded", {"id": "ch_1"}),
        (SUCCEEDED, {"id": "pi_1", "metadata": {}}),
        (SUCCEEDED, {"id": "pi_1", "metadata": {"order_id": "6b0f9eedd9b54bbb0d91d90a"}}),
    ]:
        assert (await send_event(client, kind, intent)).status_code == 200


async def test_stripe_unconfigured_refuses_the_method(
    customer: UserSession, shop: Shop, app: FastAPI
) -> None:
    app.state.ctx.payments.providers.pop("stripe")
    product = await shop.product("10.00", stock=5)
    await add(customer.client, product["id"])
    reply = await pay_with_stripe(customer.client)
    assert (reply.status_code, reply.json()["code"]) == (400, "payment_method_unavailable")
    assert await shop.stock(product["id"]) == 5


async def test_money_to_minor_units_is_exact() -> None:
    from shopkit_server.money import to_minor_units

    assert to_minor_units(Decimal("90089999999909.91"), "usd") == 9008999999990991
    assert to_minor_units(Decimal("0.10"), "usd") == 10
    assert to_minor_units(Decimal("1500.00"), "jpy") == 1500
    with pytest.raises(ValueError):
        to_minor_units(Decimal("1500.50"), "jpy")
