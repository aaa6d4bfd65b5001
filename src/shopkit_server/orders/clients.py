"""How the order service reaches the cart and the catalog's stock."""

from __future__ import annotations

from shopkit_server.cart.service import CartService
from shopkit_server.products.service import ProductService


class InProcessCartClient:
    def __init__(self, cart: CartService) -> None:
        self._cart = cart


class InProcessStockClient:
    def __init__(self, products: ProductService) -> None:
        self._products = products
