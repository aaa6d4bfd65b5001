"""Domain records of the order service: orders, their status flow, idempotency keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    FAILED = "failed"  # the last attempt failed; the order stays payable (same intent)
    REFUNDED = "refunded"


# The payment method every order gets unless checkout names another (cash on delivery or
# bank transfer: an admin records the payment).
MANUAL = "manual"

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
    """One entry of an order's history: its status and payment status from ``at`` on."""

    status: OrderStatus
    at: datetime
    payment_status: PaymentStatus = PaymentStatus.UNPAID


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
    payment_method: str = MANUAL
    payment_status: PaymentStatus = PaymentStatus.UNPAID
    # The provider's id of the order's one payment (a Stripe PaymentIntent), once created.
    payment_intent_id: str | None = None


@dataclass(frozen=True)
class OutboxEvent:
    """An event written in the same transaction as the change it reports (the outbox).

    ``key`` orders delivery: events with one key (an order id, a product id) reach each
    endpoint in the order they were written.
    """

    id: str
    type: str
    key: str
    created_at: datetime
    data: dict[str, Any]


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
