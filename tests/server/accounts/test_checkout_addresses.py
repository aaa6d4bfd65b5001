"""Checkout with a saved address, and the verified-email requirement, on every store."""

from __future__ import annotations

from fastapi import FastAPI

from tests.conftest import MakeUser, UserSession
from tests.server.accounts.test_verification_and_addresses import ADDRESS
from tests.server.cart.shop import Shop


async def test_checkout_snapshots_a_saved_address(
    customer: UserSession, admin: UserSession, make_user: MakeUser
) -> None:
    product = await Shop(admin.client).product(stock=5)
    saved = (await customer.client.post("/auth/me/addresses", json=ADDRESS)).json()
    await customer.client.post("/cart/items", json={"product_id": product["id"]})
    placed = await customer.client.post("/orders", json={"address_id": saved["id"]})
    assert placed.status_code == 201, placed.text
    assert placed.json()["shipping_address"]["city"] == "Lahore"
    # Editing or deleting the saved address later leaves the order's copy alone.
    await customer.client.patch(f"/auth/me/addresses/{saved['id']}", json={"city": "Multan"})
    await customer.client.delete(f"/auth/me/addresses/{saved['id']}")
    order = await customer.client.get(f"/orders/{placed.json()['id']}")
    assert order.json()["shipping_address"]["city"] == "Lahore"
    # Another user's address is not found; both or neither address is a 422.
    other = await make_user()
    mine = (await customer.client.post("/auth/me/addresses", json=ADDRESS)).json()
    await other.client.post("/cart/items", json={"product_id": product["id"]})
    stolen = await other.client.post("/orders", json={"address_id": mine["id"]})
    assert stolen.status_code == 404 and stolen.json()["code"] == "address_not_found"
    both = await other.client.post(
        "/orders", json={"address_id": mine["id"], "shipping_address": ADDRESS}
    )
    assert both.status_code == 422
    assert (await other.client.post("/orders", json={})).status_code == 422


async def test_checkout_may_require_a_verified_email(
    app: FastAPI, customer: UserSession, admin: UserSession
) -> None:
    product = await Shop(admin.client).product(stock=5)
    await customer.client.post("/cart/items", json={"product_id": product["id"]})
    app.state.ctx.orders.require_verified_email = True
    try:
        refused = await customer.client.post("/orders", json={"shipping_address": ADDRESS})
        assert refused.status_code == 403 and refused.json()["code"] == "email_not_verified"
        user = await app.state.ctx.store.users.get(customer.id)
        from shopkit_server.auth.models import UserChanges

        await app.state.ctx.store.users.update(user.id, UserChanges(email_verified=True))
        placed = await customer.client.post("/orders", json={"shipping_address": ADDRESS})
        assert placed.status_code == 201
    finally:
        app.state.ctx.orders.require_verified_email = False
