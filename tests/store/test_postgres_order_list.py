"""PostgreSQL's order list reads its total, its page and the page's lines and histories from
one snapshot (REPEATABLE READ), as SQLite's does (tests/store/test_sqlite_order_list.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from shopkit_server.ids import new_id
from shopkit_server.orders.models import OrderStatus
from shopkit_server.store import Store
from shopkit_server.store.postgres import orders as postgres_orders
from tests.store.test_orders_contract import T0, make_order

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


async def test_changes_committed_mid_listing_are_not_half_seen(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = new_id()
    first = make_order(user)
    await store.orders.add(first)
    load = postgres_orders._load
    interleaved = 0

    async def load_after_changes(conn: Any, rows: Sequence[Any]) -> Any:
        # Between the listing's first statement (total and page) and the reads of the page's
        # lines and histories, other connections commit a cancel and a new order.
        nonlocal interleaved
        if interleaved:  # the writes below load their own results through _load too
            return await load(conn, rows)
        interleaved += 1
        moved = await store.orders.transition(
            first.id,
            expected=OrderStatus.PENDING,
            new=OrderStatus.CANCELLED,
            at=T0 + timedelta(minutes=1),
        )
        assert moved is not None
        await store.orders.add(make_order(user))
        return await load(conn, rows)

    monkeypatch.setattr(postgres_orders, "_load", load_after_changes)
    page = await store.orders.list(user_id=user, status=None, offset=0, limit=10)
    monkeypatch.setattr(postgres_orders, "_load", load)

    assert interleaved == 1
    (order,) = page.items
    assert page.total == 1
    # One state: the row's status and its history agree (not "pending" with a cancel in it).
    assert order.status is OrderStatus.PENDING
    assert [change.status for change in order.status_history] == [OrderStatus.PENDING]
    after = await store.orders.list(user_id=user, status=None, offset=0, limit=10)
    assert after.total == 2
    cancelled = next(o for o in after.items if o.id == first.id)
    assert [c.status for c in cancelled.status_history] == [
        OrderStatus.PENDING,
        OrderStatus.CANCELLED,
    ]
