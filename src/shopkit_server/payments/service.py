"""Payments applied to orders (no HTTP, no provider SDK: providers come in by interface).

``manual``: an admin records the payment. A provider (Stripe): the order's one intent is
created after the order is stored (idempotency key: the order id, so a retried or raced
checkout never makes a second); the provider's webhook marks it paid (and confirms a pending
order) or failed (it stays payable, same intent). Provider event ids are recorded in the same
write as the change they cause, so an event delivered three times settles once; a success
after a failure pays, a failure after a success is ignored. Cancelling a paid order refunds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import anyio
import structlog

from shopkit_server.deps import Principal
from shopkit_server.ids import is_valid_id
from shopkit_server.orders.changes import apply_change
from shopkit_server.orders.errors import OrderNotFound
from shopkit_server.orders.models import MANUAL, Order, OrderStatus, PaymentStatus
from shopkit_server.orders.repository import OrderRepository
from shopkit_server.payments.errors import (
    InvalidWebhookSignature,
    OrderAlreadyPaid,
    OrderNotPayable,
    PaymentAmountMismatch,
    PaymentMethodUnavailable,
    PaymentProviderUnavailable,
)
from shopkit_server.payments.provider import (
    Intent,
    InvalidSignatureError,
    PaymentProvider,
    ProviderError,
    ProviderEvent,
    ProviderEventKind,
)
from shopkit_server.store.base import DuplicateKeyError

log = structlog.get_logger("shopkit.payments")

_PAYABLE = (PaymentStatus.UNPAID, PaymentStatus.FAILED)
_ATTEMPTS = 8  # compare-and-set rounds: each lost one means the order moved on


@dataclass(frozen=True)
class PaymentView:
    order: Order
    intent: Intent | None  # None for manual orders


class PaymentService:
    def __init__(
        self, *, orders: OrderRepository, providers: Mapping[str, PaymentProvider]
    ) -> None:
        self.orders = orders
        self.providers = dict(providers)

    @property
    def methods(self) -> tuple[str, ...]:
        return (MANUAL, *self.providers)

    def check_method(self, method: str) -> None:
        if method not in self.methods:
            raise PaymentMethodUnavailable(
                f"Payment method {method!r} is not offered; choose one of: "
                f"{', '.join(self.methods)}."
            )

    async def _order(self, order_id: str) -> Order:
        order = await self.orders.get(order_id) if is_valid_id(order_id) else None
        if order is None:
            raise OrderNotFound()
        return order

    # -- manual ---------------------------------------------------------------------------

    async def record_manual(self, order_id: str, amount: Decimal | None) -> Order:
        """An admin records the cash or transfer that paid a manual order."""
        order = await self._order(order_id)
        if order.payment_method != MANUAL:
            raise OrderNotPayable(
                f"This order is paid through {order.payment_method}, not recorded by hand."
            )
        if amount is not None and amount != order.total:
            raise PaymentAmountMismatch(f"The order's total is {order.total}, not {amount}.")
        for _ in range(_ATTEMPTS):
            if order.payment_status is PaymentStatus.PAID:
                raise OrderAlreadyPaid()
            if order.payment_status is PaymentStatus.REFUNDED or (
                order.status is OrderStatus.CANCELLED
            ):
                raise OrderNotPayable()
            moved = await apply_change(self.orders, order, payment=PaymentStatus.PAID)
            if moved is not None:
                log.info("order_paid", order_id=order.id, method=MANUAL)
                return moved
            order = await self._order(order_id)
        raise OrderNotPayable()

    # -- providers ------------------------------------------------------------------------

    def _provider(self, order: Order) -> PaymentProvider:
        provider = self.providers.get(order.payment_method)
        if provider is None:
            raise PaymentMethodUnavailable(
                f"Payment method {order.payment_method!r} is not configured on this server."
            )
        return provider

    async def start(self, order: Order) -> Intent | None:
        """Right after checkout stored the order: its intent (``None`` for manual orders, or
        when the provider did not answer; the client then asks again with
        ``POST /orders/{id}/payment-intent``, which returns the same intent)."""
        if order.payment_method == MANUAL:
            return None
        try:
            return await self._intent_of(order)
        except (PaymentProviderUnavailable, PaymentMethodUnavailable):
            log.warning("payment_intent_deferred", order_id=order.id)
            return None

    async def _intent_of(self, order: Order) -> Intent:
        provider = self._provider(order)
        try:
            if order.payment_intent_id is not None:
                return await provider.get_intent(order.payment_intent_id)
            intent = await provider.create_intent(order)
        except ProviderError as exc:
            log.warning("payment_provider_error", order_id=order.id, error=str(exc))
            raise PaymentProviderUnavailable() from None
        await self.orders.set_payment_intent(order.id, intent.id)
        return intent

    async def intent(self, actor: Principal, order_id: str) -> PaymentView:
        """The order's payment for its owner (or an admin): the same intent every time."""
        order = await self.orders.get(order_id) if is_valid_id(order_id) else None
        if order is None or not (actor.is_admin or order.user_id == actor.id):
            raise OrderNotFound()
        if order.payment_method == MANUAL:
            return PaymentView(order, None)
        if order.status is OrderStatus.CANCELLED and order.payment_status in _PAYABLE:
            raise OrderNotPayable()
        return PaymentView(order, await self._intent_of(order))

    # -- provider webhooks ----------------------------------------------------------------

    async def handle_webhook(
        self, provider_name: str, payload: bytes, headers: Mapping[str, str]
    ) -> None:
        provider = self.providers.get(provider_name)
        if provider is None:
            raise PaymentMethodUnavailable(f"{provider_name} is not configured on this server.")
        try:
            event = provider.parse_event(payload, headers)
        except InvalidSignatureError:
            raise InvalidWebhookSignature() from None
        if event.kind is ProviderEventKind.OTHER or not event.order_id:
            return
        await self.apply_event(provider, event)

    async def apply_event(self, provider: PaymentProvider, event: ProviderEvent) -> None:
        assert event.order_id is not None
        order = await self.orders.get(event.order_id) if is_valid_id(event.order_id) else None
        if order is None or order.payment_method != provider.name:
            log.warning("payment_event_for_unknown_order", event_id=event.id)
            return
        if event.intent_id is None:
            return
        if order.payment_intent_id is None:
            # The webhook beat the checkout's own write of the intent id (Saleor #19220): the
            # intent carries this order's id in its metadata and is the order's only one.
            await self.orders.set_payment_intent(order.id, event.intent_id)
            order = await self._order(order.id)
        if order.payment_intent_id != event.intent_id:
            log.warning("payment_event_for_other_intent", order_id=order.id, event_id=event.id)
            return
        for _ in range(_ATTEMPTS):
            if event.kind is ProviderEventKind.SUCCEEDED:
                if order.payment_status not in _PAYABLE:
                    return  # paid already (or refunded): a late or repeated success
                status = OrderStatus.CONFIRMED if order.status is OrderStatus.PENDING else None
                change_payment = PaymentStatus.PAID
            else:
                if order.payment_status is not PaymentStatus.UNPAID:
                    return  # a failure after a success (or a second one) changes nothing
                status = None
                change_payment = PaymentStatus.FAILED
            try:
                moved = await apply_change(
                    self.orders,
                    order,
                    status=status,
                    payment=change_payment,
                    applied_event=f"{provider.name}:{event.id}",
                )
            except DuplicateKeyError:
                return  # this event was applied before
            if moved is not None:
                log.info("order_payment", order_id=order.id, payment=change_payment.value)
                if moved.status is OrderStatus.CANCELLED and change_payment is PaymentStatus.PAID:
                    # Paid after it was cancelled (timed out): give the money back.
                    await self.refund_cancelled(moved)
                return
            order = await self._order(order.id)

    # -- cancelling -----------------------------------------------------------------------

    async def after_cancel(self, order: Order) -> None:
        """A cancelled order: refund what was paid, stop an intent still open."""
        if order.payment_status is PaymentStatus.PAID:
            await self.refund_cancelled(order)
        elif order.payment_intent_id is not None and order.payment_method in self.providers:
            try:
                await self.providers[order.payment_method].cancel_intent(order.payment_intent_id)
            except ProviderError:
                # If it is paid anyway, the success webhook refunds it.
                log.warning("payment_intent_cancel_failed", order_id=order.id)

    async def refund_cancelled(self, order: Order) -> Order | None:
        """Refund a cancelled paid order and mark it refunded. A provider that fails leaves it
        paid; the sweeper tries again."""
        if order.payment_method != MANUAL:
            try:
                with anyio.CancelScope(shield=True):
                    await self._provider(order).refund(order)
            except (ProviderError, PaymentMethodUnavailable):
                log.warning("refund_failed", order_id=order.id)
                return None
        for _ in range(_ATTEMPTS):
            if order.payment_status is not PaymentStatus.PAID:
                return order
            moved = await apply_change(self.orders, order, payment=PaymentStatus.REFUNDED)
            if moved is not None:
                log.info("order_refunded", order_id=order.id)
                return moved
            order = await self._order(order.id)
        return None

    async def refund_due(self, now: datetime, limit: int = 50) -> int:
        """Cancelled orders still paid (a refund that failed, a success after a cancel)."""
        due = await self.orders.payment_due(
            status=OrderStatus.CANCELLED,
            payment=[PaymentStatus.PAID],
            created_before=now,
            limit=limit,
        )
        for order in due:
            await self.refund_cancelled(order)
        return len(due)

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
