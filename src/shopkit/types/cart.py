"""The caller's cart (``/cart``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shopkit.types._base import Money, ShopkitModel


class CartItem(ShopkitModel):
    product_id: str
    variant_id: str | None = None
    """The variant the line holds (one line per variant)."""
    sku: str | None = None
    option_values: dict[str, str] = Field(default_factory=dict)
    name: str
    price: Money
    quantity: int
    item_total: Money
    image_url: str | None = None
    available: bool = True
    """False when the product is no longer sold or has fewer units than the line holds:
    checkout would refuse the line."""


class Cart(ShopkitModel):
    items: list[CartItem]
    total_items: int
    """The sum of the quantities."""
    subtotal: Money
    updated_at: datetime | None = None
    """``None`` for a cart that was never written to."""
