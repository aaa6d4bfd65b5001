"""How the order service reaches the cart and the catalog's stock.

Transport-neutral protocols: in one process the ``InProcess*`` classes call the other
services directly; when the services run apart HTTP implementations (chosen in
``context.py``) take their place. Over HTTP both are service-to-service (``/internal``
routes, a service token): the cart calls name the user, whom checkout has already checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from shopkit_server.auth.models import SavedAddress
from shopkit_server.cart.models import Cart
from shopkit_server.cart.service import CartService
from shopkit_server.deps import Principal
from shopkit_server.products.models import Product, StockLine
from shopkit_server.products.service import ProductService


class CartClient(Protocol):
    """A checkout's hold on the user's cart: claim it, then finish or release the claim.

    ``checkout_id`` is the order id, so a retried attempt of one checkout (same Idempotency-
    Key) claims again what it already holds, and a second checkout gets ``CheckoutInProgress``.
    """

    async def claim(self, user: Principal, checkout_id: str) -> Cart:
        """Claim the cart and return its lines (checkout re-reads prices itself); raises
        ``CheckoutInProgress`` while another checkout holds it."""
        ...

    async def finish(self, user: Principal, checkout_id: str, lines: Sequence[StockLine]) -> None:
        """Take what the order took out of the cart (subtracting quantities, so a line added
        while the checkout ran is kept) and drop the claim. Idempotent."""
        ...

    async def release(self, user: Principal, checkout_id: str) -> None:
        """Drop the claim of a checkout that stored no order. Idempotent."""
        ...


class AddressLookup(Protocol):
    """The caller's saved addresses (``AddressBook``: the auth service's, on the shared store)."""

    async def get(self, user_id: str, address_id: str) -> SavedAddress:
        """One of the user's addresses; raises ``AddressNotFound`` (also for another's)."""
        ...


class StockClient(Protocol):
    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> None:
        """Take stock for every line or for none; raises ``InsufficientStock`` naming the
        short products. Idempotent per ``reservation_id``: a retry never takes stock twice."""
        ...

    async def release(self, reservation_id: str) -> None:
        """Give a reservation's stock back, exactly once; an unknown id is a no-op."""
        ...


@runtime_checkable
class ReservingStock(Protocol):
    """A stock client that can reserve and read the lines' products in one round trip (over
    HTTP: one ``/internal`` call where a checkout made two)."""

    async def reserve_and_read(
        self, reservation_id: str, lines: Sequence[StockLine]
    ) -> tuple[bool, dict[str, Product]]:
        """The lines' products as read just before reserving (unknown ids left out) and whether
        the stock was reserved: not when a product is missing or inactive (nothing taken).
        Raises as ``reserve`` does (``InsufficientStock`` naming the short lines...)."""
        ...


class InProcessCartClient:
    def __init__(self, cart: CartService) -> None:
        self._cart = cart

    async def claim(self, user: Principal, checkout_id: str) -> Cart:
        return await self._cart.claim_checkout(user.id, checkout_id)

    async def finish(self, user: Principal, checkout_id: str, lines: Sequence[StockLine]) -> None:
        await self._cart.finish_checkout(user.id, checkout_id, lines)

    async def release(self, user: Principal, checkout_id: str) -> None:
        await self._cart.release_checkout(user.id, checkout_id)


class InProcessStockClient:
    def __init__(self, products: ProductService) -> None:
        self._products = products

    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> None:
        await self._products.reserve_stock(reservation_id, lines)

    async def release(self, reservation_id: str) -> None:
        await self._products.release_stock(reservation_id)
