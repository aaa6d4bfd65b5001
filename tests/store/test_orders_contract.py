"""The order repository contract (orders and Idempotency-Keys), on every store backend."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shopkit_server.clock import utc_now
from shopkit_server.ids import new_id
from shopkit_server.orders.models import (
    IDEMPOTENCY_KEY_TTL,
    Address,
    IdempotencyRecord,
    Order,
    OrderItem,
    OrderStatus,
    StatusChange,
)
from shopkit_server.store import Store
from shopkit_server.store.base import DuplicateKeyError

T0 = datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=UTC)
ADDRESS = Address(
    full_name="Ayesha Khan",
    address_line1="12 Clifton Rd",
    address_line2=None,
    city="Karachi",
    state="Sindh",
    postal_code="75500",
    country="PK",
    phone="+92 300 1234567",
)


def make_order(
    user_id: str, *, at: datetime = T0, status: OrderStatus = OrderStatus.PENDING
) -> Order:
    items = [
        OrderItem(new_id(), "Headphones", Decimal("99.99"), 2, Decimal("199.98")),
        OrderItem(new_id(), "Cable", Decimal("0.10"), 3, Decimal("0.30")),
    ]
    return Order(
        id=new_id(),
        user_id=user_id,
        items=items,
        subtotal=Decimal("200.28"),
        shipping_cost=Decimal("4.99"),
        tax=Decimal("10.01"),
        total=Decimal("215.28"),
        shipping_address=ADDRESS,
        status=status,
        status_history=[StatusChange(status, at)],
        created_at=at,
        updated_at=at,
    )


def key_record(
    user_id: str, key: str = "key-1", *, at: datetime | None = None
) -> IdempotencyRecord:
    at = at or utc_now()  # keys expire after a day of real time
    return IdempotencyRecord(
        user_id=user_id,
        key=key,
        request_hash="hash-a",
        order_id=new_id(),
        created_at=at,
        claimed_at=at,
    )


async def test_an_order_round_trips_exactly(store: Store) -> None:
    order = make_order(new_id())
    await store.orders.add(order)
    loaded = await store.orders.get(order.id)
    assert loaded == order
    assert loaded is not None
    assert [str(i.price) for i in loaded.items] == ["99.99", "0.10"]
    assert str(loaded.tax) == "10.01"


async def test_unknown_and_malformed_ids_are_none(store: Store) -> None:
    assert await store.orders.get(new_id()) is None
    assert await store.orders.get("not-an-id") is None
    assert (
        await store.orders.transition(
            "nope", expected=OrderStatus.PENDING, new=OrderStatus.CONFIRMED, at=T0
        )
        is None
    )


async def test_an_order_id_is_stored_once(store: Store) -> None:
    order = make_order(new_id())
    await store.orders.add(order)
    with pytest.raises(DuplicateKeyError):
        await store.orders.add(replace(order, user_id=new_id()))
    assert await store.orders.get(order.id) == order


async def test_list_is_per_user_newest_first_filtered_and_paginated(store: Store) -> None:
    alice, bob = new_id(), new_id()
    mine = [make_order(alice, at=T0 + timedelta(minutes=i)) for i in range(5)]
    for order in mine:
        await store.orders.add(order)
    theirs = make_order(bob, at=T0 + timedelta(hours=1))
    await store.orders.add(theirs)
    await store.orders.transition(
        mine[1].id, expected=OrderStatus.PENDING, new=OrderStatus.CONFIRMED, at=T0
    )

    page = await store.orders.list(user_id=alice, status=None, offset=0, limit=3)
    assert page.total == 5
    assert [o.id for o in page.items] == [o.id for o in reversed(mine)][:3]
    rest = await store.orders.list(user_id=alice, status=None, offset=3, limit=3)
    assert [o.id for o in rest.items] == [mine[1].id, mine[0].id]
    assert rest.items[1] == mine[0]  # items and history come with every listed order

    confirmed = await store.orders.list(
        user_id=alice, status=OrderStatus.CONFIRMED, offset=0, limit=10
    )
    assert (confirmed.total, [o.id for o in confirmed.items]) == (1, [mine[1].id])

    everyone = await store.orders.list(user_id=None, status=None, offset=0, limit=10)
    assert everyone.total == 6
    assert everyone.items[0].id == theirs.id
    pending = await store.orders.list(user_id=None, status=OrderStatus.PENDING, offset=0, limit=10)
    assert pending.total == 5
    empty = await store.orders.list(user_id=new_id(), status=None, offset=0, limit=10)
    assert (empty.total, empty.items) == (0, [])


async def test_transition_is_a_compare_and_set_that_appends_history(store: Store) -> None:
    order = make_order(new_id())
    await store.orders.add(order)
    at = T0 + timedelta(minutes=5)
    moved = await store.orders.transition(
        order.id, expected=OrderStatus.PENDING, new=OrderStatus.CONFIRMED, at=at
    )
    assert moved is not None
    assert moved.status is OrderStatus.CONFIRMED
    assert moved.updated_at == at
    assert moved.status_history == [
        StatusChange(OrderStatus.PENDING, T0),
        StatusChange(OrderStatus.CONFIRMED, at),
    ]
    assert await store.orders.get(order.id) == moved
    stale = await store.orders.transition(
        order.id, expected=OrderStatus.PENDING, new=OrderStatus.CANCELLED, at=at
    )
    assert stale is None
    assert (await store.orders.get(order.id)) == moved


async def test_concurrent_transitions_from_one_status_apply_once(store: Store) -> None:
    order = make_order(new_id())
    await store.orders.add(order)
    results = await asyncio.gather(
        *(
            store.orders.transition(
                order.id, expected=OrderStatus.PENDING, new=new, at=T0 + timedelta(seconds=1)
            )
            for new in [OrderStatus.CONFIRMED, OrderStatus.CANCELLED] * 4
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    stored = await store.orders.get(order.id)
    assert stored is not None
    assert len(stored.status_history) == 2
    assert stored.status is winners[0].status


async def test_the_first_claim_of_a_key_wins(store: Store) -> None:
    user = new_id()
    first = key_record(user)
    assert await store.orders.claim_idempotency_key(first) == first
    second = replace(key_record(user), request_hash="hash-b")
    assert await store.orders.claim_idempotency_key(second) == first
    assert await store.orders.get_idempotency_key(user, "key-1") == first
    # Keys are per user.
    other = key_record(new_id())
    assert await store.orders.claim_idempotency_key(other) == other
    assert await store.orders.get_idempotency_key(user, "key-2") is None


async def test_concurrent_claims_of_one_key_agree_on_one_winner(store: Store) -> None:
    user = new_id()
    candidates = [key_record(user) for _ in range(6)]
    held = await asyncio.gather(*(store.orders.claim_idempotency_key(c) for c in candidates))
    assert len({record.order_id for record in held}) == 1
    assert held[0] in candidates


async def test_a_released_key_can_be_claimed_again(store: Store) -> None:
    user = new_id()
    first = key_record(user)
    await store.orders.claim_idempotency_key(first)
    await store.orders.release_idempotency_key(user, "key-1", new_id())  # not its order: kept
    assert await store.orders.get_idempotency_key(user, "key-1") == first
    await store.orders.release_idempotency_key(user, "key-1", first.order_id)
    assert await store.orders.get_idempotency_key(user, "key-1") is None
    second = key_record(user)
    assert await store.orders.claim_idempotency_key(second) == second


async def test_keys_are_kept_a_day_and_then_forgotten(store: Store) -> None:
    user = new_id()
    now = utc_now()
    day_old = key_record(user, at=now - IDEMPOTENCY_KEY_TTL + timedelta(minutes=1))
    await store.orders.claim_idempotency_key(day_old)
    assert await store.orders.claim_idempotency_key(key_record(user, at=now)) == day_old

    expired = key_record(user, "old-key", at=now - IDEMPOTENCY_KEY_TTL - timedelta(minutes=1))
    await store.orders.claim_idempotency_key(expired)
    assert await store.orders.get_idempotency_key(user, "old-key") is None
    fresh = key_record(user, "old-key", at=now)
    assert await store.orders.claim_idempotency_key(fresh) == fresh


async def test_renewing_a_claim_is_a_compare_and_set(store: Store) -> None:
    user = new_id()
    record = key_record(user)
    await store.orders.claim_idempotency_key(record)
    later = record.claimed_at + timedelta(minutes=2)
    results = await asyncio.gather(
        *(store.orders.renew_idempotency_key(record, later) for _ in range(4))
    )
    assert results.count(True) == 1
    stored = await store.orders.get_idempotency_key(user, "key-1")
    assert stored is not None
    assert stored.claimed_at == later
    assert stored.order_id == record.order_id
