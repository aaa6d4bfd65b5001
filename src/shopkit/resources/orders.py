"""``client.orders``: checkout and order history."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from shopkit._constants import IDEMPOTENCY_KEY_HEADER
from shopkit._types import query
from shopkit.pagination import AsyncPage, Position, walk_pages
from shopkit.resources._resource import AsyncAPIResource, segment
from shopkit.types.orders import Address, Order, OrderStatus


class AsyncOrders(AsyncAPIResource):
    async def create(
        self,
        *,
        shipping_address: Address | Mapping[str, Any],
        idempotency_key: str | None = None,
    ) -> Order:
        """Check out the cart: reserve stock, freeze prices, clear the cart.

        Safe to retry: every attempt carries the same ``Idempotency-Key`` (a fresh uuid4 unless
        you pass one), so a checkout retried after a timeout returns the first order instead of
        placing a second. Pass your own key to make a retry across restarts safe too.
        """
        address = (
            shipping_address.model_dump(exclude_none=True)
            if isinstance(shipping_address, Address)
            else {k: v for k, v in shipping_address.items() if v is not None}
        )
        key = idempotency_key or str(uuid.uuid4())
        response = await self._client.request(
            "POST",
            "/orders",
            json={"shipping_address": address},
            headers={IDEMPOTENCY_KEY_HEADER: key},
        )
        order: Order = self._client.parse(Order, response)
        return order

    async def list(
        self,
        *,
        status: OrderStatus | None = None,
        all: bool = False,
        page: int = 1,
        page_size: int = 20,
        cursor: str | None = None,
    ) -> AsyncPage[Order]:
        """The caller's orders, newest first; ``all=True`` (admins) lists everyone's.
        ``cursor``: the ``next_cursor`` of a page before (then ``page`` is not used)."""
        where = {"cursor": cursor} if cursor else {"page": page}
        params = query({"status": status, "all": all or None, **where, "page_size": page_size})
        response = await self._client.request("GET", "/orders", params=params)
        result: AsyncPage[Order] = self._client.parse(AsyncPage[Order], response)
        result._fetch = lambda at: self._at(at, status=status, all=all, page_size=page_size)
        return result

    async def _at(
        self, position: Position, *, status: OrderStatus | None, all: bool, page_size: int
    ) -> AsyncPage[Order]:
        if isinstance(position, str):
            return await self.list(status=status, all=all, cursor=position, page_size=page_size)
        return await self.list(status=status, all=all, page=position, page_size=page_size)

    def iterate(
        self, *, status: OrderStatus | None = None, all: bool = False, page_size: int = 100
    ) -> AsyncIterator[Order]:
        """Every order :meth:`list` would return, a page at a time as the loop needs them."""
        return walk_pages(lambda at: self._at(at, status=status, all=all, page_size=page_size))

    async def get(self, order_id: str) -> Order:
        """One of the caller's orders (admins: anyone's)."""
        response = await self._client.request("GET", f"/orders/{segment(order_id)}")
        order: Order = self._client.parse(Order, response)
        return order

    async def update_status(self, order_id: str, *, status: OrderStatus) -> Order:
        """Move an order along ``pending -> confirmed -> processing -> shipped -> delivered``
        (admins); any other move is an :class:`~shopkit.InvalidTransitionError`."""
        response = await self._client.request(
            "PATCH", f"/orders/{segment(order_id)}/status", json={"status": status}
        )
        order: Order = self._client.parse(Order, response)
        return order

    async def cancel(self, order_id: str) -> Order:
        """Cancel a ``pending`` or ``confirmed`` order; its stock goes back on the shelf."""
        response = await self._client.request("POST", f"/orders/{segment(order_id)}/cancel")
        order: Order = self._client.parse(Order, response)
        return order
