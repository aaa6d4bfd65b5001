"""Product service logic (no HTTP, no database driver)."""

from __future__ import annotations

from shopkit_server.products.repository import CategoryRepository, ProductRepository


class ProductService:
    def __init__(self, *, products: ProductRepository, categories: CategoryRepository) -> None:
        self.products = products
        self.categories = categories
