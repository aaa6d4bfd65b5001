"""One change of an order (status and/or payment status), with its events, in one write."""

from __future__ import annotations

from dataclasses import replace

from shopkit_server.clock import utc_now
from shopkit_server.orders.models import Order, OrderStatus, PaymentStatus, StatusChange
from shopkit_server.orders.repository import OrderRepository
from shopkit_server.webhooks import events


async def apply_change(
    repo: OrderRepository,
    order: Order,
    *,
    status: OrderStatus | None = None,
    payment: PaymentStatus | None = None,
    applied_event: str | None = None,
) -> Order | None:
    """Compare-and-set from ``order`` as read: ``None`` when it changed meanwhile (read it
    again and decide again). The outbox gets the change's events in the same write."""
    at = utc_now()
    new_status = status or order.status
    new_payment = payment or order.payment_status
    after = replace(
        order,
        status=new_status,
        payment_status=new_payment,
        status_history=[*order.status_history, StatusChange(new_status, at, new_payment)],
        updated_at=at,
    )
    return await repo.transition(
        order.id,
        expected=order.status,
        new=new_status,
        at=at,
        expected_payment=order.payment_status,
        payment=payment,
        events=events.moved(order, after, at),
        applied_event=applied_event,
    )
