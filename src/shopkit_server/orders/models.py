"""Domain records of the order service: orders, their status flow, idempotency keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


# The only moves an order may make (API.md, "Status flow"); delivered and cancelled are final.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELLED}),
    OrderStatus.PROCESSING: frozenset({OrderStatus.SHIPPED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

# How long an Idempotency-Key is remembered (API.md asks for at least 24 hours).
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Address:
    full_name: str
    address_line1: str
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2, upper case
    phone: str
    address_line2: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class OrderItem:
    """A line frozen at checkout: later catalog changes never alter it."""

    product_id: str
    name: str
    price: Decimal
    quantity: int
    item_total: Decimal
    # The variant bought (None on items of orders placed before variants existed).
    variant_id: str | None = None
    sku: str | None = None
    option_values: dict[str, str] = field(default_factory=dict)
    image_url: str | None = None


@dataclass(frozen=True)
class StatusChange:
    status: OrderStatus
    at: datetime


@dataclass(frozen=True)
class Order:
    id: str
    user_id: str
    items: list[OrderItem]
    subtotal: Decimal
    shipping_cost: Decimal
    tax: Decimal
    total: Decimal
    shipping_address: Address
    status: OrderStatus
    status_history: list[StatusChange]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class IdempotencyRecord:
    """A claimed Idempotency-Key: which order it stands for and which request body made it.

    ``claimed_at`` is the start of the current attempt's lease; an attempt that died is taken
    over once its lease has run out.
    """

    user_id: str
    key: str
    request_hash: str
    order_id: str
    created_at: datetime
    claimed_at: datetime
