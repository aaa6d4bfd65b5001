"""A gate inside checkout that proves concurrent requests really overlapped.

Installed as the order service's catalog client: the first checkout to reach the catalog
read (which comes after the cart claim) waits there until every other request of the race has
either reached the same point or finished. So the others are known to have run while it was
inside its checkout, on any store, whatever the store driver's own scheduling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from shopkit_server.cart.clients import ProductsClient
from shopkit_server.products.models import Product

T = TypeVar("T")


class OverlapGate:
    def __init__(self, inner: ProductsClient, racers: int) -> None:
        self._inner = inner
        self._racers = racers
        self.arrived = 0  # checkouts that reached the catalog read
        self.finished = 0  # requests that got their answer
        # (arrived, finished) when the gate opened: (1, racers - 1) means one checkout was
        # inside while every other request ran to its answer.
        self.opened_at: tuple[int, int] | None = None
        self._open = asyncio.Event()

    def _check(self) -> None:
        if self.opened_at is None and self.arrived + self.finished >= self._racers:
            self.opened_at = (self.arrived, self.finished)
            self._open.set()

    async def get_products(self, product_ids: Sequence[str]) -> dict[str, Product]:
        self.arrived += 1
        self._check()
        await self._open.wait()
        return await self._inner.get_products(product_ids)

    async def answer(self, request: Awaitable[T]) -> T:
        """Await one racer's request, counting it finished for the gate."""
        try:
            return await request
        finally:
            self.finished += 1
            self._check()
