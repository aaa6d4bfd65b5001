"""How the order service reaches the cart and the catalog's stock.

Transport-neutral protocols: in one process the ``InProcess*`` classes call the other
services directly; when the services run apart HTTP implementations (chosen in
``context.py``) take their place. The cart calls take the :class:`Principal` so an HTTP
client can forward the user's own token; stock calls are service-to-service.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shopkit_server.cart.models import Cart
from shopkit_server.cart.service import CartService
from shopkit_server.deps import Principal
from shopkit_server.products.models import StockLine
from shopkit_server.products.service import ProductService


class CartClient(Protocol):
    async def get_cart(self, user: Principal) -> Cart:
        """The user's cart (lines and quantities; checkout re-reads prices itself)."""
        ...

    async def remove_ordered(self, user: Principal, lines: Sequence[StockLine]) -> None:
        """Take what an order took out of the user's cart (subtracting quantities), so a line
        added while the checkout ran is kept rather than cleared with the rest."""
        ...


class StockClient(Protocol):
    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> None:
        """Take stock for every line or for none; raises ``InsufficientStock`` naming the
        short products. Idempotent per ``reservation_id``: a retry never takes stock twice."""
        ...

    async def release(self, reservation_id: str) -> None:
        """Give a reservation's stock back, exactly once; an unknown id is a no-op."""
        ...


class InProcessCartClient:
    def __init__(self, cart: CartService) -> None:
        self._cart = cart

    async def get_cart(self, user: Principal) -> Cart:
        return await self._cart.get_stored_cart(user.id)

    async def remove_ordered(self, user: Principal, lines: Sequence[StockLine]) -> None:
        await self._cart.remove_ordered(user.id, lines)


class InProcessStockClient:
    def __init__(self, products: ProductService) -> None:
        self._products = products

    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> None:
        await self._products.reserve_stock(reservation_id, lines)

    async def release(self, reservation_id: str) -> None:
        await self._products.release_stock(reservation_id)
