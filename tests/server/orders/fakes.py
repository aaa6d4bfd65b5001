"""In-memory stand-ins for the cart service, as the order service sees it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from shopkit_server.cart.errors import CheckoutInProgress
from shopkit_server.cart.models import Cart, CartItem
from shopkit_server.deps import Principal
from shopkit_server.ids import new_id
from shopkit_server.products.models import Product, StockLine
from shopkit_server.security import Role


def principal(role: Role = Role.CUSTOMER) -> Principal:
    return Principal(id=new_id(), role=role, token="unused-in-process")


class FakeCart:
    """Carts by user id with the checkout claim; can be told to fail finishing a checkout."""

    def __init__(self) -> None:
        self.carts: dict[str, Cart] = {}
        self.claims: dict[str, str] = {}  # user id -> checkout id
        self.fail_clear = False

    def put(self, user: Principal, *lines: tuple[Product, int]) -> None:
        self.carts[user.id] = Cart(
            items=[
                CartItem(product_id=p.id, name=p.name, price=p.price, quantity=q) for p, q in lines
            ]
        )

    async def claim(self, user: Principal, checkout_id: str) -> Cart:
        if self.claims.get(user.id, checkout_id) != checkout_id:
            raise CheckoutInProgress()
        self.claims[user.id] = checkout_id
        return self.carts.get(user.id, Cart())

    async def release(self, user: Principal, checkout_id: str) -> None:
        if self.claims.get(user.id) == checkout_id:
            del self.claims[user.id]

    async def finish(self, user: Principal, checkout_id: str, lines: Sequence[StockLine]) -> None:
        if self.fail_clear:
            raise ConnectionError("cart service unreachable")
        if self.claims.get(user.id) != checkout_id:
            return
        del self.claims[user.id]
        taken = {line.product_id: line.quantity for line in lines}
        kept = [
            replace(item, quantity=item.quantity - taken.get(item.product_id, 0))
            for item in self.carts.get(user.id, Cart()).items
        ]
        remaining = [item for item in kept if item.quantity > 0]
        if remaining:
            self.carts[user.id] = Cart(items=remaining)
        else:
            self.carts.pop(user.id, None)
