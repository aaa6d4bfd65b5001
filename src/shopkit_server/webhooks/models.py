"""Domain records of webhooks: endpoints, event types, deliveries."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shopkit_server.orders.models import OutboxEvent

ORDER_PLACED = "order.placed"
ORDER_PAID = "order.paid"
ORDER_STATUS_CHANGED = "order.status_changed"
ORDER_CANCELLED = "order.cancelled"
ORDER_REFUNDED = "order.refunded"
PRODUCT_OUT_OF_STOCK = "product.out_of_stock"

EVENT_TYPES: tuple[str, ...] = (
    ORDER_PLACED,
    ORDER_PAID,
    ORDER_STATUS_CHANGED,
    ORDER_CANCELLED,
    ORDER_REFUNDED,
    PRODUCT_OUT_OF_STOCK,
)
# An endpoint's event types: any of EVENT_TYPES, or "*" for every one.
ALL_EVENTS = "*"


class DeliveryState(StrEnum):
    PENDING = "pending"  # not yet delivered (waiting for its turn, its next try, or in flight)
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # given up after the last retry (an admin may replay it)


@dataclass(frozen=True)
class Endpoint:
    id: str
    url: str
    secret: str  # stored as is: the dispatcher signs with it (see docs/api.md, "Webhooks")
    event_types: tuple[str, ...]
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: str
    webhook_id: str
    event: OutboxEvent
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    response_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class DueDelivery:
    """A delivery claimed for one attempt, with what it takes to send it."""

    delivery: Delivery
    url: str
    secret: str


def matches(endpoint: Endpoint, event_type: str) -> bool:
    return ALL_EVENTS in endpoint.event_types or event_type in endpoint.event_types


def delivery_id_for(event_id: str, webhook_id: str) -> str:
    """One delivery per (event, endpoint): a fan-out run twice makes no second one."""
    return "dlv_" + hashlib.sha256(f"{event_id}:{webhook_id}".encode()).hexdigest()[:24]
