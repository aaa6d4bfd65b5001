"""How the cart service learns about products.

The cart never reads the products table: it asks a :class:`ProductsClient`. In one process
that is :class:`InProcessProductsClient`; when the services run apart an HTTP implementation
(chosen in ``context.py``) takes its place and raises
:class:`~shopkit_server.errors.UpstreamUnavailable` when the product service does not answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shopkit_server.products.models import Product
from shopkit_server.products.service import ProductService


class ProductsClient(Protocol):
    async def get_products(self, product_ids: Sequence[str]) -> dict[str, Product]:
        """Several products in one round trip, keyed by id; inactive ones included, unknown
        (or malformed) ids left out. Callers check ``is_active``."""
        ...


class InProcessProductsClient:
    """Calls the product service in the same process."""

    def __init__(self, products: ProductService) -> None:
        self._products = products

    async def get_products(self, product_ids: Sequence[str]) -> dict[str, Product]:
        return await self._products.get_products(product_ids)
