"""How the auth service asks the cart service to merge a guest cart at login.

In one process :class:`InProcessCartMerger` calls the cart service; when the services run
apart :class:`HttpCartMerger` posts to the cart service's ``/internal`` route with a service
token (chosen in ``context.py``). Either way a cart service that cannot be reached is an
``unavailable`` merge, never a failed login: the guest cart is then left as it was.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import ValidationError

from shopkit_server.cart.models import CartMerge
from shopkit_server.cart.schemas import CartMergeOut
from shopkit_server.cart.service import CartService
from shopkit_server.upstream import ServiceToken, Upstream


class CartMerger(Protocol):
    async def merge(self, user_id: str, cart_token: str) -> CartMerge:
        """Merge the guest cart of ``cart_token`` into ``user_id``'s cart (at most once)."""
        ...


class InProcessCartMerger:
    def __init__(self, cart: CartService) -> None:
        self._cart = cart

    async def merge(self, user_id: str, cart_token: str) -> CartMerge:
        return await self._cart.merge_guest_cart(user_id, cart_token)


class HttpCartMerger:
    def __init__(self, upstream: Upstream, token: ServiceToken) -> None:
        self._upstream = upstream
        self._token = token

    async def merge(self, user_id: str, cart_token: str) -> CartMerge:
        # Not retried: a merge that happened but whose answer was lost would be "invalid" the
        # second time, so the first answer is the only one worth having.
        reply = await self._upstream.request(
            "POST",
            f"/internal/carts/{user_id}/merge",
            idempotent=False,
            json={"cart_token": cart_token},
            headers=self._token.header(),
        )
        if reply.status_code != 200:
            raise self._upstream.unexpected(reply)
        try:
            return CartMergeOut.model_validate(self._upstream.json(reply)).to_domain()
        except ValidationError:
            raise self._upstream.unexpected(reply) from None
