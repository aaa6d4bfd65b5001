"""Cart service logic (no HTTP, no database driver)."""

from __future__ import annotations

from shopkit_server.cart.clients import InProcessProductsClient
from shopkit_server.cart.repository import CartRepository


class CartService:
    def __init__(self, *, carts: CartRepository, products: InProcessProductsClient) -> None:
        self.carts = carts
        self.products = products
