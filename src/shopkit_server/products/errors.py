"""Errors of the product service that other services see too."""

from __future__ import annotations

from collections.abc import Sequence

from shopkit_server.errors import Conflict, NotFound


class ProductNotFound(NotFound):
    code = "product_not_found"
    detail = "Product not found."


class InsufficientStock(Conflict):
    code = "insufficient_stock"

    def __init__(self, product_ids: Sequence[str], detail: str | None = None) -> None:
        self.product_ids = list(product_ids)
        super().__init__(
            detail or f"Not enough stock for product(s): {', '.join(self.product_ids)}."
        )
