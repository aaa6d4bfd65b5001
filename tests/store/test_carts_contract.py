"""The cart repository contract, on every store backend."""

from __future__ import annotations

import asyncio
import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shopkit_server.cart.models import (
    MERGE_LEASE,
    Cart,
    CartItem,
    CartLinesExceeded,
    GuestCart,
    LineLimitExceeded,
    MergedLine,
    MergePlan,
    UnpricedLines,
)
from shopkit_server.ids import new_id
from shopkit_server.products.models import StockLine
from shopkit_server.store import Store

T0 = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)


def item(product_id: str, quantity: int = 1, *, price: str = "9.99", name: str = "Mug") -> CartItem:
    return CartItem(
        product_id=product_id,
        variant_id=product_id,  # lines are keyed by variant; one variant per product here
        name=name,
        price=Decimal(price),
        quantity=quantity,
        image_url="https://img.example/mug.png",
    )


async def test_a_user_without_a_cart_has_an_empty_one(store: Store) -> None:
    cart = await store.carts.get(new_id())
    assert cart.items == []
    assert cart.updated_at is None
    assert cart.total_items == 0
    assert cart.subtotal == Decimal("0.00")


async def test_add_creates_then_increments_and_keeps_latest_snapshot(store: Store) -> None:
    user, pid = new_id(), new_id()
    cart = await store.carts.add_item(user, item(pid, 2), max_quantity=99, max_lines=100, now=T0)
    assert [(i.product_id, i.quantity) for i in cart.items] == [(pid, 2)]
    assert cart.updated_at == T0

    later = T0 + timedelta(seconds=1)
    cart = await store.carts.add_item(
        user, item(pid, 3, price="12.50", name="Big mug"), max_quantity=99, max_lines=100, now=later
    )
    (line,) = cart.items
    assert (line.quantity, line.price, line.name) == (5, Decimal("12.50"), "Big mug")
    assert line.image_url == "https://img.example/mug.png"
    assert cart.updated_at == later
    assert await store.carts.get(user) == cart


async def test_money_comes_back_exact(store: Store) -> None:
    user, pid = new_id(), new_id()
    await store.carts.add_item(
        user, item(pid, 3, price="0.10"), max_quantity=99, max_lines=100, now=T0
    )
    cart = await store.carts.get(user)
    assert cart.items[0].price == Decimal("0.10")
    assert str(cart.subtotal) == "0.30"


async def test_lines_keep_the_order_they_were_added_in(store: Store) -> None:
    user = new_id()
    pids = [new_id() for _ in range(4)]
    for pid in pids:
        await store.carts.add_item(user, item(pid), max_quantity=99, max_lines=100, now=T0)
    await store.carts.add_item(
        user, item(pids[0]), max_quantity=99, max_lines=100, now=T0
    )  # no reordering
    assert [i.product_id for i in (await store.carts.get(user)).items] == pids


async def test_add_past_the_limit_raises_and_writes_nothing(store: Store) -> None:
    user, pid = new_id(), new_id()
    await store.carts.add_item(user, item(pid, 4), max_quantity=5, max_lines=100, now=T0)
    with pytest.raises(LineLimitExceeded) as caught:
        await store.carts.add_item(user, item(pid, 2), max_quantity=5, max_lines=100, now=T0)
    assert caught.value.current_quantity == 4
    assert (await store.carts.get(user)).items[0].quantity == 4
    # Exactly up to the limit is fine.
    cart = await store.carts.add_item(user, item(pid, 1), max_quantity=5, max_lines=100, now=T0)
    assert cart.items[0].quantity == 5


async def test_a_new_line_over_the_limit_is_refused(store: Store) -> None:
    user, pid = new_id(), new_id()
    with pytest.raises(LineLimitExceeded) as caught:
        await store.carts.add_item(user, item(pid, 3), max_quantity=2, max_lines=100, now=T0)
    assert caught.value.current_quantity == 0
    assert (await store.carts.get(user)).items == []
    with pytest.raises(LineLimitExceeded):  # zero stock: nothing at all may be added
        await store.carts.add_item(user, item(pid, 1), max_quantity=0, max_lines=100, now=T0)


async def test_set_quantity_updates_removes_and_reports_missing_lines(store: Store) -> None:
    user, a, b = new_id(), new_id(), new_id()
    await store.carts.add_item(user, item(a, 1), max_quantity=99, max_lines=100, now=T0)
    await store.carts.add_item(user, item(b, 1), max_quantity=99, max_lines=100, now=T0)
    later = T0 + timedelta(minutes=1)
    cart = await store.carts.set_quantity(user, a, 7, now=later)
    assert cart is not None
    assert [(i.product_id, i.quantity) for i in cart.items] == [(a, 7), (b, 1)]
    assert cart.updated_at == later
    cart = await store.carts.set_quantity(user, b, 0, now=later)
    assert cart is not None
    assert [i.product_id for i in cart.items] == [a]
    assert await store.carts.set_quantity(user, b, 3, now=later) is None
    assert await store.carts.set_quantity(user, b, 0, now=later) is None
    assert await store.carts.set_quantity(new_id(), a, 1, now=later) is None


async def test_remove_item_is_idempotent(store: Store) -> None:
    user, a, b = new_id(), new_id(), new_id()
    await store.carts.add_item(user, item(a), max_quantity=99, max_lines=100, now=T0)
    await store.carts.add_item(user, item(b), max_quantity=99, max_lines=100, now=T0)
    later = T0 + timedelta(minutes=1)
    cart = await store.carts.remove_item(user, a, now=later)
    assert [i.product_id for i in cart.items] == [b]
    assert cart.updated_at == later
    again = await store.carts.remove_item(user, a, now=later + timedelta(minutes=1))
    assert again == cart  # nothing changed, not even updated_at
    assert (await store.carts.remove_item(new_id(), a, now=later)).items == []


async def test_clear_empties_only_that_users_cart(store: Store) -> None:
    alice, bob, pid = new_id(), new_id(), new_id()
    await store.carts.add_item(alice, item(pid, 2), max_quantity=99, max_lines=100, now=T0)
    await store.carts.add_item(bob, item(pid, 3), max_quantity=99, max_lines=100, now=T0)
    await store.carts.clear(alice)
    assert (await store.carts.get(alice)).items == []
    assert (await store.carts.get(bob)).items[0].quantity == 3
    await store.carts.clear(alice)  # clearing an empty cart is fine
    cart = await store.carts.add_item(alice, item(pid, 1), max_quantity=99, max_lines=100, now=T0)
    assert cart.total_items == 1


async def test_concurrent_adds_all_count(store: Store) -> None:
    user, pid, other = new_id(), new_id(), new_id()
    await asyncio.gather(
        *(
            store.carts.add_item(user, item(pid), max_quantity=99, max_lines=100, now=T0)
            for _ in range(25)
        ),
        *(
            store.carts.add_item(user, item(other), max_quantity=99, max_lines=100, now=T0)
            for _ in range(5)
        ),
    )
    cart = await store.carts.get(user)
    assert {i.product_id: i.quantity for i in cart.items} == {pid: 25, other: 5}


async def test_concurrent_adds_never_pass_the_limit(store: Store) -> None:
    user, pid = new_id(), new_id()
    results = await asyncio.gather(
        *(
            store.carts.add_item(user, item(pid, 2), max_quantity=15, max_lines=100, now=T0)
            for _ in range(12)
        ),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, LineLimitExceeded)]
    assert len(refused) == 5  # 7 adds of 2 fit in 15; the 8th would make 16
    assert all(r.current_quantity == 14 for r in refused)
    assert (await store.carts.get(user)).items[0].quantity == 14


async def _add(store: Store, user: str, pid: str, quantity: int = 1, lines: int = 100) -> None:
    await store.carts.add_item(user, item(pid, quantity), max_quantity=99, max_lines=lines, now=T0)


async def test_a_new_line_beyond_the_line_cap_is_refused(store: Store) -> None:
    user, pids = new_id(), [new_id() for _ in range(4)]
    for pid in pids[:3]:
        await _add(store, user, pid, lines=3)
    with pytest.raises(CartLinesExceeded):
        await _add(store, user, pids[3], lines=3)
    await _add(store, user, pids[0], 2, lines=3)  # more of a line already there is fine
    cart = await store.carts.get(user)
    assert [(i.product_id, i.quantity) for i in cart.items] == [
        (pids[0], 3),
        (pids[1], 1),
        (pids[2], 1),
    ]


async def test_concurrent_new_lines_never_pass_the_line_cap(store: Store) -> None:
    user = new_id()
    results = await asyncio.gather(
        *(_add(store, user, new_id(), lines=5) for _ in range(12)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 5
    assert all(isinstance(r, CartLinesExceeded) for r in results if r is not None)
    assert len((await store.carts.get(user)).items) == 5


async def test_one_live_claim_at_a_time(store: Store) -> None:
    user, pid = new_id(), new_id()
    await _add(store, user, pid, 2)
    first, second = new_id(), new_id()
    stale = T0 - timedelta(seconds=60)
    claimed = await store.carts.claim_checkout(user, first, now=T0, stale_before=stale)
    assert claimed is not None and [(i.product_id, i.quantity) for i in claimed.items] == [(pid, 2)]
    assert await store.carts.claim_checkout(user, second, now=T0, stale_before=stale) is None
    # The holder may claim again (a retry of the same checkout).
    assert await store.carts.claim_checkout(user, first, now=T0, stale_before=stale) is not None
    # Editing the cart stays allowed while it is claimed.
    await _add(store, user, pid, 1)
    # A released claim is free for the next checkout.
    await store.carts.release_checkout(user, second)  # not the holder: no effect
    assert await store.carts.claim_checkout(user, second, now=T0, stale_before=stale) is None
    await store.carts.release_checkout(user, first)
    assert await store.carts.claim_checkout(user, second, now=T0, stale_before=stale) is not None


async def test_a_claim_past_its_lease_can_be_taken_over(store: Store) -> None:
    user = new_id()
    await _add(store, user, new_id())
    dead, live = new_id(), new_id()
    assert await store.carts.claim_checkout(user, dead, now=T0, stale_before=T0)
    later = T0 + timedelta(seconds=61)
    taken = await store.carts.claim_checkout(
        user, live, now=later, stale_before=later - timedelta(seconds=60)
    )
    assert taken is not None
    # The dead attempt's finish then changes nothing: the claim is no longer its own.
    await store.carts.finish_checkout(
        user, dead, [StockLine(taken.items[0].product_id, 1)], now=later
    )
    assert len((await store.carts.get(user)).items) == 1


async def test_a_user_without_a_cart_claims_an_empty_one(store: Store) -> None:
    user = new_id()
    claimed = await store.carts.claim_checkout(user, new_id(), now=T0, stale_before=T0)
    assert claimed is not None and claimed.items == []


async def test_concurrent_claims_have_one_winner(store: Store) -> None:
    user = new_id()
    await _add(store, user, new_id())
    results = await asyncio.gather(
        *(
            store.carts.claim_checkout(user, new_id(), now=T0, stale_before=T0 - timedelta(60))
            for _ in range(8)
        )
    )
    assert sum(r is not None for r in results) == 1


# -- the guest-cart merge: one store operation ------------------------------------------------

_CARTS_MODULES = {
    "sqlite": "shopkit_server.store.sqlite.carts",
    "postgres": "shopkit_server.store.postgres.carts",
    "mongodb": "shopkit_server.store.mongo.carts",
}


def _take_all(guest: Cart, account: Cart) -> MergePlan:
    """A planner that moves every guest line whole."""
    return MergePlan(
        [MergedLine(i.product_id, i.variant_id, i.quantity, i.quantity) for i in guest.items],
        list(guest.items),
    )


async def _guest_with(store: Store, *lines: CartItem) -> GuestCart:
    guest = GuestCart(
        id=new_id(), token_hash=new_id(), created_at=T0, expires_at=T0 + timedelta(days=1)
    )
    await store.guest_carts.add(guest)
    for line in lines:
        await store.carts.add_item(guest.id, line, max_quantity=99, max_lines=100, now=T0)
    return guest


def _added(lines: list[MergedLine] | None) -> list[tuple[str, int]]:
    assert lines is not None
    return [(x.product_id, x.added) for x in lines]


def _held(cart: Cart) -> dict[str, int]:
    return {i.product_id: i.quantity for i in cart.items}


async def test_a_merge_moves_the_planned_lines_once(store: Store) -> None:
    user, mine, both, theirs = new_id(), new_id(), new_id(), new_id()
    await store.carts.add_item(user, item(mine, 1), max_quantity=99, max_lines=100, now=T0)
    await store.carts.add_item(user, item(both, 2), max_quantity=99, max_lines=100, now=T0)
    guest = await _guest_with(store, item(both, 3, price="7.00"), item(theirs, 4))
    seen: list[tuple[dict[str, int], dict[str, int]]] = []

    def plan(guest_cart: Cart, account: Cart) -> MergePlan:
        seen.append((_held(guest_cart), _held(account)))
        return _take_all(guest_cart, account)

    lines = await store.carts.merge_guest(guest.token_hash, user, plan, now=T0)
    assert seen == [({both: 3, theirs: 4}, {mine: 1, both: 2})]  # both carts, read inside
    assert lines is not None and [(x.product_id, x.added) for x in lines] == [
        (both, 3),
        (theirs, 4),
    ]
    account = await store.carts.get(user)
    assert _held(account) == {mine: 1, both: 5, theirs: 4}
    assert [i.price for i in account.items if i.product_id == both] == [Decimal("7.00")]
    assert (await store.carts.get(guest.id)).items == []
    assert await store.guest_carts.find(guest.token_hash, T0) is None
    again = await store.carts.merge_guest(guest.token_hash, user, _take_all, now=T0)
    assert again is None and _held(await store.carts.get(user)) == {mine: 1, both: 5, theirs: 4}


async def test_an_unknown_token_merges_nothing(store: Store) -> None:
    user = new_id()
    assert await store.carts.merge_guest(new_id(), user, _take_all, now=T0) is None
    assert (await store.carts.get(user)).items == []


async def test_a_merge_failing_after_its_adds_loses_and_doubles_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, both, theirs = new_id(), new_id(), new_id()
    await store.carts.add_item(user, item(both, 2), max_quantity=99, max_lines=100, now=T0)
    guest = await _guest_with(store, item(both, 3), item(theirs, 4))
    module = importlib.import_module(_CARTS_MODULES[store.backend])
    drop = module._drop_guest_lines

    async def crash(*args: Any) -> None:
        raise RuntimeError("the store went away mid-merge")

    def crash_now(*args: Any) -> None:
        raise RuntimeError("the store went away mid-merge")

    # After the claim and the adds, before the guest lines are dropped.
    monkeypatch.setattr(
        module, "_drop_guest_lines", crash_now if store.backend == "sqlite" else crash
    )
    with pytest.raises(RuntimeError):
        await store.carts.merge_guest(guest.token_hash, user, _take_all, now=T0)
    monkeypatch.setattr(module, "_drop_guest_lines", drop)
    account = _held(await store.carts.get(user))
    if store.backend == "mongodb":
        # No multi-document transaction: the adds stand, recorded with the merge.
        assert account == {both: 5, theirs: 4}
    else:  # rolled back whole: the guest cart is as it was, unclaimed
        assert account == {both: 2}
        assert await store.guest_carts.find(guest.token_hash, T0) is not None
    assert _held(await store.carts.get(guest.id)) == {both: 3, theirs: 4}  # nothing lost

    # A retry (a later login with the token) finishes it, adding nothing twice.
    later = T0 + MERGE_LEASE + timedelta(seconds=1)
    lines = await store.carts.merge_guest(guest.token_hash, user, _take_all, now=later)
    assert lines is not None and [(x.product_id, x.added) for x in lines] == [
        (both, 3),
        (theirs, 4),
    ]
    assert _held(await store.carts.get(user)) == {both: 5, theirs: 4}
    assert (await store.carts.get(guest.id)).items == []
    assert await store.carts.merge_guest(guest.token_hash, user, _take_all, now=later) is None
    assert _held(await store.carts.get(user)) == {both: 5, theirs: 4}


async def test_a_merge_whose_plan_fails_changes_nothing(store: Store) -> None:
    user, pid = new_id(), new_id()
    guest = await _guest_with(store, item(pid, 2))

    def refuse(guest_cart: Cart, account: Cart) -> MergePlan:
        raise UnpricedLines([pid])

    with pytest.raises(UnpricedLines):
        await store.carts.merge_guest(guest.token_hash, user, refuse, now=T0)
    assert (await store.carts.get(user)).items == []
    assert await store.guest_carts.find(guest.token_hash, T0) is not None  # claim undone
    lines = await store.carts.merge_guest(guest.token_hash, user, _take_all, now=T0)
    assert lines is not None and _held(await store.carts.get(user)) == {pid: 2}


async def test_concurrent_merges_of_one_token_have_one_winner(store: Store) -> None:
    first, second, pid = new_id(), new_id(), new_id()
    guest = await _guest_with(store, item(pid, 2))
    results = await asyncio.gather(
        *(store.carts.merge_guest(guest.token_hash, u, _take_all, now=T0) for u in (first, second))
    )
    assert sorted(r is None for r in results) == [False, True]
    held = [_held(await store.carts.get(u)) for u in (first, second)]
    assert sorted(held, key=len) == [{}, {pid: 2}]
