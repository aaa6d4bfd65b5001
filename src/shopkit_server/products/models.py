"""Domain records of the product service (shared with the services that call it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    id: str
    sku: str | None
    name: str
    description: str
    price: Decimal
    category: str
    tags: list[str]
    image_url: str | None
    stock: int
    is_active: bool
    is_featured: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    slug: str
    parent_id: str | None
    sort_order: int
    children: list[Category] = field(default_factory=list)


@dataclass(frozen=True)
class StockLine:
    """A quantity of one product to take from (reserve) or give back to (release) stock."""

    product_id: str
    quantity: int
