"""Products and categories (``/products``, ``/categories``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal, NotRequired, TypedDict

from pydantic import Field

from shopkit.types._base import Money, ShopkitModel

ProductSort = Literal["newest", "price_asc", "price_desc", "name"]
SearchSort = Literal["relevance", "newest", "price_asc", "price_desc", "name"]


class Product(ShopkitModel):
    id: str
    sku: str | None = None
    name: str
    description: str = ""
    price: Money
    category: str
    tags: list[str] = Field(default_factory=list)
    image_url: str | None = None
    stock: int
    is_active: bool
    is_featured: bool
    created_at: datetime
    updated_at: datetime


class ProductInput(TypedDict):
    """One row for :meth:`~shopkit.resources.products.AsyncProducts.bulk` (upserted by ``sku``)."""

    name: str
    price: Decimal | int | str
    category: str
    sku: NotRequired[str | None]
    description: NotRequired[str]
    tags: NotRequired[list[str]]
    image_url: NotRequired[str | None]
    stock: NotRequired[int]
    is_active: NotRequired[bool]
    is_featured: NotRequired[bool]


class BulkFailure(ShopkitModel):
    index: int
    """Position of the row in the list that was sent."""
    sku: str | None = None
    detail: str


class BulkResult(ShopkitModel):
    """The report of a bulk upsert: how many rows were created, updated or already equal
    (``unchanged``: not written), and which failed."""

    created: int
    updated: int
    unchanged: int = 0
    failed: list[BulkFailure] = Field(default_factory=list)


class Category(ShopkitModel):
    id: str
    name: str
    slug: str
    parent_id: str | None = None
    sort_order: int = 0
    children: list[Category] = Field(default_factory=list)
    """Filled only by ``categories.list(tree=True)``."""
