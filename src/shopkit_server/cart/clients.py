"""How the cart service learns about products."""

from __future__ import annotations

from shopkit_server.products.service import ProductService


class InProcessProductsClient:
    def __init__(self, products: ProductService) -> None:
        self._products = products
