"""Storage interface of the cart service (implemented in shopkit_server.store.*)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from shopkit_server.cart.models import Cart, CartItem
from shopkit_server.products.models import StockLine


class CartRepository(Protocol):
    """One cart per user. Every method is atomic on its own: no read-modify-write in callers."""

    async def get(self, user_id: str) -> Cart:
        """The stored cart, lines in the order they were first added; empty when none."""
        ...

    async def add_item(
        self, user_id: str, item: CartItem, *, max_quantity: int, now: datetime
    ) -> Cart:
        """Add ``item.quantity`` units to the line (creating line and cart as needed).

        The line's name, price and image are replaced by the item's. Raises
        :class:`~shopkit_server.cart.models.LineLimitExceeded` (writing nothing) when the line
        would then hold more than ``max_quantity``. Two concurrent adds both count.
        """
        ...

    async def set_quantity(
        self, user_id: str, product_id: str, quantity: int, *, now: datetime
    ) -> Cart | None:
        """Set a line's quantity; 0 removes the line. ``None`` when the line is not there."""
        ...

    async def remove_item(self, user_id: str, product_id: str, *, now: datetime) -> Cart:
        """Remove a line if present (a missing line is not an error)."""
        ...

    async def clear(self, user_id: str) -> None:
        """Empty the cart."""
        ...

    async def remove_ordered(
        self, user_id: str, lines: Sequence[StockLine], *, now: datetime
    ) -> None:
        """Take what an order took out of the cart: subtract each line's quantity, dropping
        lines that reach zero. Units added while the checkout ran stay in the cart."""
        ...
