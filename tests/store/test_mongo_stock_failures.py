"""MongoDB stock reservations that stop part-way lose nothing (injected failures).

A reserve takes one product at a time (no multi-document transactions); these tests break it
between the steps — a network error with the write applied or not, a cancellation while a
write is in flight, a release that fails half-way — and check that ``release()`` gives back
exactly what was taken, once, however often it runs.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bson import ObjectId
from pymongo.errors import AutoReconnect

from shopkit_server.products.models import Category, ReserveStatus, StockLine
from shopkit_server.store import Store
from tests.conftest import BACKENDS
from tests.store.test_products_contract import T0, make_category, product, stock_of

pytestmark = pytest.mark.parametrize(
    "backend", [b for b in BACKENDS if b.startswith("mongo")], indirect=True
)


class Breaking:
    """A products collection whose write number ``at`` (counting every write) misbehaves.

    ``mode``: "before" fails without writing, "after" writes and then fails (the reply was
    lost), "hang" writes and then never answers (so the caller can be cancelled mid-call).
    """

    def __init__(self, inner: Any, *, at: int, mode: str) -> None:
        self.inner, self.at, self.mode = inner, at, mode
        self.calls = 0
        self.reached = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def update_one(self, *args: Any, **kwargs: Any) -> Any:
        return await self._write("update_one", *args, **kwargs)

    async def find_one_and_update(self, *args: Any, **kwargs: Any) -> Any:
        return await self._write("find_one_and_update", *args, **kwargs)

    async def _write(self, method: str, *args: Any, **kwargs: Any) -> Any:
        write = getattr(self.inner, method)
        self.calls += 1
        if self.calls != self.at:
            return await write(*args, **kwargs)
        if self.mode == "before":
            raise AutoReconnect("connection reset")
        result = await write(*args, **kwargs)
        if self.mode == "after":
            raise AutoReconnect("connection reset")
        self.reached.set()
        await asyncio.Event().wait()  # never answers
        return result

    async def parked(self) -> None:
        await asyncio.wait_for(self.reached.wait(), timeout=10)


@pytest.fixture
async def kitchen(store: Store) -> Category:
    return await make_category(store, "Kitchen")


async def three(store: Store) -> list[str]:
    ids = []
    for name in ("A", "B", "C"):
        made = product(name, stock=10)
        await store.products.create(made)
        ids.append(made.id)
    return ids


def breaking(store: Store, *, at: int, mode: str) -> Breaking:
    repo: Any = store.products
    broken = Breaking(repo._products, at=at, mode=mode)
    repo._products = broken
    return broken


async def stocks(store: Store, ids: list[str]) -> list[int]:
    return [await stock_of(store, pid) for pid in ids]


async def released_twice_gives_back_once(store: Store, ids: list[str]) -> None:
    await store.products.release("order-1")
    assert await stocks(store, ids) == [10, 10, 10]
    await store.products.release("order-1")
    assert await stocks(store, ids) == [10, 10, 10]
    # The id is spent: a late retry takes nothing.
    outcome = await store.products.reserve("order-1", [StockLine(pid, 1) for pid in ids])
    assert outcome.status is ReserveStatus.RELEASED
    assert await stocks(store, ids) == [10, 10, 10]


@pytest.mark.parametrize(("mode", "taken"), [("before", [7, 10, 10]), ("after", [7, 7, 10])])
async def test_a_network_error_mid_reserve_loses_no_units(
    store: Store, kitchen: Category, mode: str, taken: list[int]
) -> None:
    ids = await three(store)
    breaking(store, at=2, mode=mode)  # the take of the second line

    with pytest.raises(AutoReconnect):
        await store.products.reserve("order-1", [StockLine(pid, 3) for pid in ids])

    assert await stocks(store, ids) == taken
    await released_twice_gives_back_once(store, ids)


async def test_a_reserve_cancelled_mid_write_loses_no_units(
    store: Store, kitchen: Category
) -> None:
    ids = await three(store)
    broken = breaking(store, at=3, mode="hang")  # the take of the third line lands, no reply
    task = asyncio.create_task(
        store.products.reserve("order-1", [StockLine(pid, 2) for pid in ids])
    )
    await broken.parked()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await stocks(store, ids) == [8, 8, 8]
    await released_twice_gives_back_once(store, ids)


async def test_a_release_that_fails_part_way_is_finished_by_the_next(
    store: Store, kitchen: Category
) -> None:
    ids = await three(store)
    lines = [StockLine(pid, 4) for pid in ids]
    assert (await store.products.reserve("order-1", lines)).status is ReserveStatus.RESERVED
    assert await stocks(store, ids) == [6, 6, 6]
    # Writes: give-back of line 0, its markers pulled, give-back of line 1 (lands, reply lost).
    breaking(store, at=3, mode="after")

    with pytest.raises(AutoReconnect):
        await store.products.release("order-1")
    assert await stocks(store, ids) == [10, 10, 6]

    await released_twice_gives_back_once(store, ids)


async def test_a_release_racing_a_reserve_gives_back_every_unit(
    store: Store, kitchen: Category
) -> None:
    ids = await three(store)
    broken = breaking(store, at=2, mode="hang")  # park the reserve after its second take
    task = asyncio.create_task(
        store.products.reserve("order-1", [StockLine(pid, 1) for pid in ids])
    )
    await broken.parked()
    await store.products.release("order-1")  # flips the claim while the reserve is parked
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await stocks(store, ids) == [10, 10, 10]
    await released_twice_gives_back_once(store, ids)


async def test_a_reservation_held_before_markers_existed_is_released_once(
    store: Store, kitchen: Category
) -> None:
    ids = await three(store)
    repo: Any = store.products
    for pid in ids:
        await store.products.update(pid, {"stock": 7}, T0)
    # The layout before tokens and markers: every line of a held reservation was taken.
    await repo._reservations.insert_one(
        {"_id": "order-1", "state": "held", "lines": [[pid, 3] for pid in ids]}
    )
    await released_twice_gives_back_once(store, ids)


async def test_a_release_re_driven_after_many_other_operations_gives_back_once(
    store: Store, kitchen: Category
) -> None:
    ids = await three(store)
    first = ids[0]
    assert (await store.products.reserve("order-1", [StockLine(first, 3)])).status is (
        ReserveStatus.RESERVED
    )
    broken = breaking(store, at=1, mode="after")  # the give-back lands, `returned` is not written
    with pytest.raises(AutoReconnect):
        await store.products.release("order-1")
    assert await stock_of(store, first) == 10
    # Far more than 64 other stock operations on the product (a take and a give-back each).
    for n in range(2, 42):
        await store.products.reserve(f"order-{n}", [StockLine(first, 1)])
        await store.products.release(f"order-{n}")
    assert broken.calls > 64
    await store.products.release("order-1")  # the re-drive
    assert await stock_of(store, first) == 10  # given back exactly once
    await released_twice_gives_back_once(store, ids)
    # Settled reservations leave no bookkeeping on the product.
    raw = await broken.inner.find_one({"_id": ObjectId(first)})
    assert raw["stock_ops"] == []
