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
    cart_token: str | None = None
    """Only in the answer that opened a guest cart; the client keeps it by itself."""


class MergedLine(ShopkitModel):
    product_id: str
    variant_id: str | None = None
    """The line's variant (``None`` only for a line stored before variants)."""
    requested: int
    """Units the guest cart held."""
    added: int
    """Units added to the account's cart."""
    shortfall: str | None = None
    """Why fewer were added: ``stock``, ``line_limit``, ``cart_line_limit``, ``unavailable``."""


class CartMerge(ShopkitModel):
    """What logging in (or registering) with a guest cart did to it."""

    outcome: str
    """``merged``; ``invalid`` (unknown, expired or already merged); ``unavailable``."""
    lines: list[MergedLine] = Field(default_factory=list)
