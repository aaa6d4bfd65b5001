"""Cash on delivery / bank transfer: the order is placed unpaid, an admin records the payment."""

from __future__ import annotations

import asyncio

import pytest

from shopkit_server.store import Store
from tests.conftest import UserSession
from tests.server.cart.shop import Shop, add, checkout


@pytest.fixture
async def shop(admin: UserSession) -> Shop:
    return Shop(admin.client)


async def test_an_admin_records_the_payment_once(
    customer: UserSession, admin: UserSession, shop: Shop, store: Store
) -> None:
    product = await shop.product("12.50", stock=5)
    await add(customer.client, product["id"], 2)
    order = (await checkout(customer.client)).json()
    assert (order["payment_method"], order["payment_status"]) == ("manual", "unpaid")
    path = f"/orders/{order['id']}/payments"

    denied = await customer.client.post(path, json={})
    assert denied.status_code == 403
    wrong = await admin.client.post(path, json={"amount": "26.00"})
    assert (wrong.status_code, wrong.json()["code"]) == (400, "payment_amount_mismatch")
    replies = await asyncio.gather(
        *(admin.client.post(path, json={"amount": "26.25"}) for _ in range(3))
    )
    assert sorted(r.status_code for r in replies) == [200, 409, 409]
    assert {r.json()["code"] for r in replies if r.status_code == 409} == {"order_already_paid"}
    paid = (await admin.client.get(f"/orders/{order['id']}")).json()
    assert (paid["status"], paid["payment_status"]) == ("pending", "paid")
    assert [(h["status"], h["payment_status"]) for h in paid["status_history"]] == [
        ("pending", "unpaid"),
        ("pending", "paid"),
    ]
    # Cancelling a paid manual order marks it refunded (the shop gives the cash back).
    cancelled = await admin.client.post(f"/orders/{order['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["payment_status"] == "refunded"
    events = [e.type for e in await store.webhooks.events(f"order:{order['id']}")]
    assert events == ["order.placed", "order.paid", "order.cancelled", "order.refunded"]
    again = await admin.client.post(path, json={})
    assert (again.status_code, again.json()["code"]) == (409, "order_not_payable")


async def test_recording_a_payment_for_a_missing_order_is_404(admin: UserSession) -> None:
    for order_id in ("6b0f9eedd9b54bbb0d91d90a", "not-an-id"):
        reply = await admin.client.post(f"/orders/{order_id}/payments", json={})
        assert (reply.status_code, reply.json()["code"]) == (404, "order_not_found")


async def test_a_manual_order_has_no_intent_and_another_user_sees_nothing(
    customer: UserSession,
    make_user,
    shop: Shop,  # type: ignore[no-untyped-def]
) -> None:
    product = await shop.product("5.00", stock=5)
    await add(customer.client, product["id"])
    order = (await checkout(customer.client)).json()
    mine = await customer.client.post(f"/orders/{order['id']}/payment-intent")
    assert mine.status_code == 200
    assert (mine.json()["payment_method"], mine.json()["client_secret"]) == ("manual", None)
    stranger = await make_user()
    theirs = await stranger.client.post(f"/orders/{order['id']}/payment-intent")
    assert theirs.status_code == 404


async def test_an_unknown_payment_method_is_refused(customer: UserSession, shop: Shop) -> None:
    product = await shop.product("5.00", stock=5)
    await add(customer.client, product["id"])
    from tests.server.cart.shop import ADDRESS

    reply = await customer.client.post(
        "/orders", json={"shipping_address": ADDRESS, "payment_method": "bitcoin"}
    )
    assert (reply.status_code, reply.json()["code"]) == (400, "payment_method_unavailable")
    assert await shop.stock(product["id"]) == 5
