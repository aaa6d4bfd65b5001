"""Storage interface of the cart service."""

from typing import Protocol


class CartRepository(Protocol):
    """Carts."""
