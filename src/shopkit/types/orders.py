"""Orders (``/orders``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shopkit.types._base import Money, ShopkitModel

OrderStatus = Literal["pending", "confirmed", "processing", "shipped", "delivered", "cancelled"]


class Address(ShopkitModel):
    """A shipping address; also what ``orders.create(shipping_address=...)`` takes."""

    full_name: str
    address_line1: str
    address_line2: str | None = None
    city: str
    state: str | None = None
    postal_code: str
    country: str
    """ISO 3166-1 alpha-2, e.g. ``"PK"``."""
    phone: str


class OrderItem(ShopkitModel):
    product_id: str
    variant_id: str | None = None
    """The variant bought (``None`` on orders placed before variants existed)."""
    sku: str | None = None
    option_values: dict[str, str] = Field(default_factory=dict)
    name: str
    price: Money
    """The price when the order was placed (frozen)."""
    quantity: int
    item_total: Money
    image_url: str | None = None


class StatusChange(ShopkitModel):
    # str, not OrderStatus: a status a newer server adds must not break reading old orders.
    status: str
    at: datetime


class Order(ShopkitModel):
    id: str
    user_id: str
    items: list[OrderItem]
    subtotal: Money
    shipping_cost: Money
    tax: Money
    total: Money
    shipping_address: Address
    status: str
    status_history: list[StatusChange] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class SavedAddress(Address):
    """An entry of the caller's address book (``client.addresses``)."""

    id: str
    is_default: bool
    created_at: datetime
    updated_at: datetime
