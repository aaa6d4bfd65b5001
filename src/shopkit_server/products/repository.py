"""Storage interface of the product service."""

from typing import Protocol


class ProductRepository(Protocol):
    """Products and their stock."""


class CategoryRepository(Protocol):
    """Categories."""
