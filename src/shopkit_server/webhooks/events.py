"""The events shopkit emits: their payloads, built from the state after the change.

Money in event data is the exact decimal text (``"19.99"``): an event is stored as JSON and
must not pass through a float on its way to a receiver.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from shopkit_server.orders.models import Order, OrderStatus, OutboxEvent
from shopkit_server.webhooks.models import (
    ORDER_CANCELLED,
    ORDER_PAID,
    ORDER_PLACED,
    ORDER_REFUNDED,
    ORDER_STATUS_CHANGED,
    PRODUCT_OUT_OF_STOCK,
)


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


def _money(amount: Decimal) -> str:
    return format(amount, "f")


def order_data(order: Order) -> dict[str, Any]:
    address = order.shipping_address
    return {
        "id": order.id,
        "user_id": order.user_id,
        "status": order.status.value,
        "payment_method": order.payment_method,
        "payment_status": order.payment_status.value,
        "items": [
            {
                "product_id": item.product_id,
                "name": item.name,
                "price": _money(item.price),
                "quantity": item.quantity,
                "item_total": _money(item.item_total),
            }
            for item in order.items
        ],
        "subtotal": _money(order.subtotal),
        "shipping_cost": _money(order.shipping_cost),
        "tax": _money(order.tax),
        "total": _money(order.total),
        "shipping_address": {
            "full_name": address.full_name,
            "address_line1": address.address_line1,
            "address_line2": address.address_line2,
            "city": address.city,
            "state": address.state,
            "postal_code": address.postal_code,
            "country": address.country,
            "phone": address.phone,
        },
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
    }


def order_event(event_type: str, order: Order, at: datetime, **extra: Any) -> OutboxEvent:
    return OutboxEvent(
        id=new_event_id(),
        type=event_type,
        key=f"order:{order.id}",
        created_at=at,
        data={"order": order_data(order), **extra},
    )


def placed(order: Order) -> OutboxEvent:
    return order_event(ORDER_PLACED, order, order.created_at)


def moved(before: Order, after: Order, at: datetime) -> list[OutboxEvent]:
    """The events of a change from ``before`` to ``after`` (status and/or payment)."""
    events: list[OutboxEvent] = []
    if after.payment_status != before.payment_status:
        if after.payment_status.value == "paid":
            events.append(order_event(ORDER_PAID, after, at))
        elif after.payment_status.value == "refunded":
            events.append(order_event(ORDER_REFUNDED, after, at))
    if after.status != before.status:
        kind = ORDER_CANCELLED if after.status is OrderStatus.CANCELLED else ORDER_STATUS_CHANGED
        events.append(order_event(kind, after, at, previous_status=before.status.value))
    return events


def out_of_stock(product_id: str, name: str, at: datetime) -> OutboxEvent:
    return OutboxEvent(
        id=new_event_id(),
        type=PRODUCT_OUT_OF_STOCK,
        key=f"product:{product_id}",
        created_at=at,
        data={"product": {"id": product_id, "name": name, "stock": 0}},
    )
