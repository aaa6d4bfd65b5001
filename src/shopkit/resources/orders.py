"""``client.orders``: checkout and order history."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, Unpack

from shopkit._constants import IDEMPOTENCY_KEY_HEADER
from shopkit._pagination import AsyncPage, Position, walk_pages
from shopkit._types import RequestOptions, query
from shopkit.resources._resource import AsyncAPIResource, segment
from shopkit.types.orders import Address, Order, OrderStatus


class AsyncOrders(AsyncAPIResource):
    async def create(
        self,
        *,
        shipping_address: Address | Mapping[str, Any] | None = None,
        address_id: str | None = None,
        payment_method: str = "manual",
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Order:
        """Check out the cart: reserve stock, freeze prices, clear the cart.

        Safe to retry: every attempt carries the same ``Idempotency-Key`` (a fresh uuid4 unless
        you pass one), so a checkout retried after a timeout returns the first order instead of
        placing a second. Pass your own key to make a retry across restarts safe too.
        Give ``shipping_address``, or ``address_id`` (one of ``client.addresses``).

        ``payment_method="stripe"``: the order's ``client_secret`` is for Stripe's client SDK
        (one PaymentIntent per order, however often this is retried); ``manual`` (the
        default): an admin records the payment later (``payments.record``).
        """
        if (shipping_address is None) == (address_id is None):
            raise ValueError("give exactly one of shipping_address and address_id")
        body: dict[str, Any]
        if address_id is not None:
            body = {"address_id": address_id}
        elif isinstance(shipping_address, Address):
            body = {"shipping_address": shipping_address.model_dump(exclude_none=True)}
        else:
            assert shipping_address is not None
            body = {
                "shipping_address": {k: v for k, v in shipping_address.items() if v is not None}
            }
        key = idempotency_key or str(uuid.uuid4())
        response = await self._client.request(
            "POST",
            "/orders",
            json={**body, "payment_method": payment_method},
            headers={IDEMPOTENCY_KEY_HEADER: key},
            options=options,
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
        **options: Unpack[RequestOptions],
    ) -> AsyncPage[Order]:
        """The caller's orders, newest first; ``all=True`` (admins) lists everyone's.
        ``cursor``: the ``next_cursor`` of a page before (then ``page`` is not used)."""
        where = {"cursor": cursor} if cursor else {"page": page}
        params = query({"status": status, "all": all or None, **where, "page_size": page_size})
        response = await self._client.request("GET", "/orders", params=params, options=options)
        result: AsyncPage[Order] = self._client.parse(AsyncPage[Order], response)
        result._fetch = lambda at: self._at(
            at, status=status, all=all, page_size=page_size, options=options
        )
        return result

    async def _at(
        self,
        position: Position,
        *,
        status: OrderStatus | None,
        all: bool,
        page_size: int,
        options: RequestOptions,
    ) -> AsyncPage[Order]:
        if isinstance(position, str):
            return await self.list(
                status=status, all=all, cursor=position, page_size=page_size, **options
            )
        return await self.list(
            status=status, all=all, page=position, page_size=page_size, **options
        )

    def iterate(
        self,
        *,
        status: OrderStatus | None = None,
        all: bool = False,
        page_size: int = 100,
        **options: Unpack[RequestOptions],
    ) -> AsyncIterator[Order]:
        """Every order :meth:`list` would return, a page at a time as the loop needs them."""
        return walk_pages(
            lambda at: self._at(at, status=status, all=all, page_size=page_size, options=options)
        )

    async def get(self, order_id: str, **options: Unpack[RequestOptions]) -> Order:
        """One of the caller's orders (admins: anyone's)."""
        response = await self._client.request(
            "GET", f"/orders/{segment(order_id)}", options=options
        )
        order: Order = self._client.parse(Order, response)
        return order

    async def update_status(
        self, order_id: str, *, status: OrderStatus, **options: Unpack[RequestOptions]
    ) -> Order:
        """Move an order along ``pending -> confirmed -> processing -> shipped -> delivered``
        (admins); any other move is an :class:`~shopkit.InvalidTransitionError`."""
        response = await self._client.request(
            "PATCH",
            f"/orders/{segment(order_id)}/status",
            json={"status": status},
            options=options,
        )
        order: Order = self._client.parse(Order, response)
        return order

    async def cancel(self, order_id: str, **options: Unpack[RequestOptions]) -> Order:
        """Cancel a ``pending`` or ``confirmed`` order; its stock goes back on the shelf."""
        response = await self._client.request(
            "POST", f"/orders/{segment(order_id)}/cancel", options=options
        )
        order: Order = self._client.parse(Order, response)
        return order
