"""SQLite's order list reads its total, its page and the page's lines from one snapshot."""

from __future__ import annotations

from typing import Any

import pytest

from shopkit_server.ids import new_id
from shopkit_server.store import Store
from tests.store.test_orders_contract import make_order

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_an_order_stored_mid_listing_is_counted_and_shown_alike(store: Store) -> None:
    user = new_id()
    await store.orders.add(make_order(user))
    db: Any = store.orders._db  # type: ignore[attr-defined]
    readers: list[Any] = list(db._all_readers)
    originals = {id(conn): conn.execute_fetchall for conn in readers}
    statements = 0

    def wrap(conn: Any) -> Any:
        async def execute_fetchall(sql: str, *args: Any) -> Any:
            nonlocal statements
            rows = await originals[id(conn)](sql, *args)
            statements += 1
            if statements == 1:  # between the listing's first and second statement
                await store.orders.add(make_order(user))
            return rows

        return execute_fetchall

    for conn in readers:
        conn.execute_fetchall = wrap(conn)
    try:
        page = await store.orders.list(user_id=user, status=None, offset=0, limit=10)
    finally:
        for conn in readers:
            conn.execute_fetchall = originals[id(conn)]

    assert statements >= 2
    assert page.total == len(page.items) == 1  # one state: not a total of 1 with 2 rows
    assert (await store.orders.list(user_id=user, status=None, offset=0, limit=10)).total == 2
