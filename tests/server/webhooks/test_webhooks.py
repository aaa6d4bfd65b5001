"""Webhook endpoints, the outbox and the dispatcher, on every store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI

import shopkit.webhooks
from shopkit_server.clock import utc_now
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from shopkit_server.webhooks.dispatcher import Dispatcher, backoff
from tests.conftest import UserSession
from tests.server.cart.shop import Shop, add, checkout

RECEIVER = "http://receiver.test/hook"


@pytest.fixture
async def shop(admin: UserSession) -> Shop:
    return Shop(admin.client)


class Clock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Receiver:
    """A local endpoint: records every delivery, verifies it with the SDK's helper."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.events: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []
        self.answers: list[int] = []  # statuses to answer next (then 200)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.headers.append(request.headers)
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            event = shopkit.webhooks.verify(
                request.content, request.headers.get("shopkit-signature"), self.secret
            )
            assert request.headers["shopkit-event-id"] == event["id"]
            self.events.append(event)
        return httpx.Response(status)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]


@pytest.fixture
def receiver() -> Any:
    hook = Receiver()
    with respx.mock(assert_all_called=False) as router:
        router.post(RECEIVER).mock(side_effect=hook)
        yield hook


async def register(admin: UserSession, receiver: Receiver, **body: Any) -> dict[str, Any]:
    reply = await admin.client.post("/webhooks", json={"url": RECEIVER, **body})
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    receiver.secret = created["secret"]
    return created


def dispatcher(store: Store, settings: Settings, clock: Clock) -> Dispatcher:
    return Dispatcher(store.webhooks, settings, clock=clock)


async def test_endpoints_crud_and_the_secret_is_shown_once(
    admin: UserSession, customer: UserSession
) -> None:
    assert (await customer.client.get("/webhooks")).status_code == 403
    assert (await customer.client.post("/webhooks", json={"url": RECEIVER})).status_code == 403
    created = (await admin.client.post("/webhooks", json={"url": RECEIVER})).json()
    assert created["secret"].startswith("whsec_") and created["event_types"] == ["*"]
    listed = (await admin.client.get("/webhooks")).json()
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]
    one = (await admin.client.get(f"/webhooks/{created['id']}")).json()
    assert "secret" not in one
    patched = await admin.client.patch(
        f"/webhooks/{created['id']}", json={"event_types": ["order.paid"], "active": False}
    )
    assert patched.status_code == 200
    assert (patched.json()["event_types"], patched.json()["active"]) == (["order.paid"], False)
    bad = await admin.client.patch(f"/webhooks/{created['id']}", json={"event_types": ["nope"]})
    assert (bad.status_code, bad.json()["code"]) == (400, "unknown_event_type")
    assert (await admin.client.delete(f"/webhooks/{created['id']}")).status_code == 204
    gone = await admin.client.get(f"/webhooks/{created['id']}")
    assert (gone.status_code, gone.json()["code"]) == (404, "webhook_not_found")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:192.168.0.1]/hook",
        "ftp://example.com/hook",
        "http://user:pw@example.com/hook",
    ],
)
async def test_private_and_odd_urls_are_refused_unless_allowed(
    app: FastAPI, admin: UserSession, url: str
) -> None:
    app.state.ctx.webhooks.allow_private = False
    reply = await admin.client.post("/webhooks", json={"url": url})
    assert (reply.status_code, reply.json()["code"]) == (400, "webhook_url_refused")


async def test_a_receiver_gets_exactly_the_events_that_happened_signed_and_in_order(
    admin: UserSession,
    customer: UserSession,
    shop: Shop,
    store: Store,
    settings: Settings,
    receiver: Receiver,
) -> None:
    await register(admin, receiver)
    product = await shop.product("10.00", stock=5)
    await add(customer.client, product["id"])
    order = (await checkout(customer.client)).json()
    # A refused move writes no event.
    assert (
        await admin.client.patch(f"/orders/{order['id']}/status", json={"status": "shipped"})
    ).status_code == 409
    await admin.client.post(f"/orders/{order['id']}/payments", json={})
    await admin.client.patch(f"/orders/{order['id']}/status", json={"status": "confirmed"})
    clock = Clock()
    await dispatcher(store, settings, clock).run_once()
    assert receiver.types() == ["order.placed", "order.paid", "order.status_changed"]
    placed = receiver.events[0]
    assert set(placed) == {"id", "type", "created_at", "data"}
    assert placed["data"]["order"]["id"] == order["id"]
    assert placed["data"]["order"]["total"] == "10.50"  # exact decimal text
    changed = receiver.events[2]["data"]
    assert (changed["previous_status"], changed["order"]["status"]) == ("pending", "confirmed")
    # Nothing new: nothing sent again.
    await dispatcher(store, settings, clock).run_once()
    assert len(receiver.events) == 3
    deliveries = (
        await admin.client.get(
            f"/webhooks/{(await admin.client.get('/webhooks')).json()[0]['id']}/deliveries"
        )
    ).json()
    assert deliveries["total"] == 3
    assert {d["state"] for d in deliveries["items"]} == {"delivered"}
    assert [d["event"]["type"] for d in deliveries["items"]] == [
        "order.status_changed",
        "order.paid",
        "order.placed",
    ]


async def test_failures_back_off_keep_the_order_and_give_up_then_replay(
    admin: UserSession,
    customer: UserSession,
    shop: Shop,
    store: Store,
    settings: Settings,
    receiver: Receiver,
) -> None:
    hook = await register(admin, receiver, event_types=["order.placed", "order.cancelled"])
    product = await shop.product("10.00", stock=5)
    await add(customer.client, product["id"])
    order = (await checkout(customer.client)).json()
    await customer.client.post(f"/orders/{order['id']}/cancel")
    await add(customer.client, product["id"])
    other = (await checkout(customer.client)).json()
    clock = Clock()
    send = dispatcher(store, settings, clock)
    receiver.answers = [500, 200]  # the first order's placed fails once; the other's goes

    await send.run_once()
    # The other order's event is not held up; the first order's cancel waits for its placed.
    assert [e["data"]["order"]["id"] for e in receiver.events] == [other["id"]]
    clock.advance(29)
    await send.run_once()
    assert len(receiver.events) == 1  # not due before the back-off
    clock.advance(2)
    await send.run_once()
    assert [(e["type"], e["data"]["order"]["id"]) for e in receiver.events] == [
        ("order.placed", other["id"]),
        ("order.placed", order["id"]),
        ("order.cancelled", order["id"]),
    ]
    # The third order's event fails every time: given up after max attempts (3), then replayed.
    await add(customer.client, product["id"])
    third = (await checkout(customer.client)).json()
    receiver.answers = [503, 503, 503]
    for wait in (0, 30, 60):
        clock.advance(wait)
        await send.run_once()
    log = (await admin.client.get(f"/webhooks/{hook['id']}/deliveries")).json()
    latest = log["items"][0]
    assert latest["event"]["data"]["order"]["id"] == third["id"]
    assert (latest["state"], latest["attempts"], latest["response_status"]) == ("failed", 3, 503)
    assert latest["next_attempt_at"] is None
    replay = await admin.client.post(f"/webhooks/{hook['id']}/deliveries/{latest['id']}/replay")
    assert replay.status_code == 200 and replay.json()["state"] == "pending"
    await send.run_once()
    assert receiver.events[-1]["data"]["order"]["id"] == third["id"]
    missing = await admin.client.post(f"/webhooks/{hook['id']}/deliveries/dlv_nope/replay")
    assert (missing.status_code, missing.json()["code"]) == (404, "delivery_not_found")


async def test_a_delivery_claimed_by_a_dispatcher_that_died_goes_out_again(
    admin: UserSession,
    customer: UserSession,
    shop: Shop,
    store: Store,
    settings: Settings,
    receiver: Receiver,
) -> None:
    await register(admin, receiver)
    product = await shop.product("10.00", stock=5)
    await add(customer.client, product["id"])
    await checkout(customer.client)
    clock = Clock()
    send = dispatcher(store, settings, clock)
    await store.webhooks.fan_out(clock(), 50)
    claimed = await store.webhooks.claim_due(clock(), clock() + send.lease, 50)
    assert len(claimed) == 1  # ... and the process dies before it sends
    await send.run_once()
    assert receiver.events == []  # leased: not sent twice at once
    clock.advance(send.lease.total_seconds() + 1)
    await send.run_once()
    assert receiver.types() == ["order.placed"]


def test_the_retry_schedule_spans_hours() -> None:
    waits = [backoff(n, base=30, longest=3600) for n in range(1, 12)]
    assert waits[:3] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert waits[-1] == timedelta(hours=1)
    assert sum(waits, timedelta()) > timedelta(hours=5)


def test_verify_refuses_tampering_and_old_signatures() -> None:
    body = json.dumps({"id": "evt_1", "type": "order.paid", "created_at": "x", "data": {}})
    header = shopkit.webhooks.sign(body, "whsec_a")
    assert shopkit.webhooks.verify(body, header, "whsec_a")["id"] == "evt_1"
    for payload, head, secret in [
        (body + " ", header, "whsec_a"),
        (body, header, "whsec_b"),
        (body, None, "whsec_a"),
        (body, "v1=abc", "whsec_a"),
        (body, shopkit.webhooks.sign(body, "whsec_a", timestamp=1), "whsec_a"),
    ]:
        with pytest.raises(shopkit.webhooks.WebhookVerificationError):
            shopkit.webhooks.verify(payload, head, secret)


async def test_a_reservation_that_empties_a_product_announces_it_once(
    customer: UserSession, make_user: Any, shop: Shop, store: Store
) -> None:
    product = await shop.product("10.00", stock=2)
    other = await shop.product("10.00", stock=9)
    await add(customer.client, product["id"], 2)
    await add(customer.client, other["id"], 1)
    assert (await checkout(customer.client)).status_code == 201
    stranger = await make_user()
    await add(stranger.client, product["id"])  # nothing left: refused, no second event
    assert (await checkout(stranger.client)).status_code in (400, 409)  # empty cart or short
    events = await store.webhooks.events(f"product:{product['id']}")
    assert [(e.type, e.data["product"]["id"]) for e in events] == [
        ("product.out_of_stock", product["id"])
    ]
    assert await store.webhooks.events(f"product:{other['id']}") == []
