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
    payment_status: str = "unpaid"
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
    payment_method: str = "manual"
    """``manual`` (an admin records the payment) or a provider such as ``stripe``."""
    payment_status: str = "unpaid"
    """``unpaid``, ``paid``, ``failed`` (still payable, same intent) or ``refunded``."""
    payment_intent_id: str | None = None
    status_history: list[StatusChange] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    client_secret: str | None = None
    """Only in the reply of ``orders.create`` with a provider: pay with the provider's SDK."""


class SavedAddress(Address):
    """An entry of the caller's address book (``client.addresses``)."""

    id: str
    is_default: bool
    created_at: datetime
    updated_at: datetime
