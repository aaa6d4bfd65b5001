"""HTTP routes of payments: record a manual payment, the order's intent, providers' webhooks."""

from __future__ import annotations

from fastapi import Request

from shopkit_server.deps import ActiveUser, AdminUser, Context
from shopkit_server.errors import raises
from shopkit_server.orders.errors import OrderNotFound
from shopkit_server.orders.schemas import OrderOut
from shopkit_server.payments.errors import (
    InvalidWebhookSignature,
    OrderAlreadyPaid,
    OrderNotPayable,
    PaymentAmountMismatch,
    PaymentMethodUnavailable,
    PaymentProviderUnavailable,
)
from shopkit_server.payments.schemas import (
    PaymentIntentOut,
    RecordPaymentRequest,
    WebhookReceived,
)
from shopkit_server.routing import ShopRouter

router = ShopRouter(tags=["payments"])

# Stripe's events are small; anything bigger is not one.
MAX_WEBHOOK_BYTES = 256 * 1024


@router.post("/orders/{order_id}/payments", response_model=OrderOut)
@raises(OrderNotFound, OrderAlreadyPaid, OrderNotPayable, PaymentAmountMismatch)
async def record_payment(
    order_id: str, body: RecordPaymentRequest, ctx: Context, admin: AdminUser
) -> OrderOut:
    """Record the cash or bank transfer that paid a `manual` order (admins only); the order
    becomes `paid`. With `amount`, it must equal the order's total."""
    return OrderOut.of(await ctx.payments.record_manual(order_id, body.amount))


@router.post("/orders/{order_id}/payment-intent", response_model=PaymentIntentOut)
@raises(OrderNotFound, OrderNotPayable, PaymentMethodUnavailable, PaymentProviderUnavailable)
async def get_payment_intent(order_id: str, ctx: Context, user: ActiveUser) -> PaymentIntentOut:
    """The order's payment with its provider: the same intent (and `client_secret`) every
    time, also after a failed attempt, so the app retries on the same order."""
    view = await ctx.payments.intent(user, order_id)
    return PaymentIntentOut.of(view, ctx.settings.currency)


@router.post("/payments/stripe/webhook", response_model=WebhookReceived)
@raises(InvalidWebhookSignature, PaymentMethodUnavailable)
async def stripe_webhook(request: Request, ctx: Context) -> WebhookReceived:
    """Stripe's events (`payment_intent.succeeded`, `payment_intent.payment_failed`), signed
    with `Stripe-Signature`; others are acknowledged and ignored. Each event id is applied
    once; events out of order are handled (a failure after a success changes nothing)."""
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise InvalidWebhookSignature("Not a Stripe event.")
    await ctx.payments.handle_webhook("stripe", body, request.headers)
    return WebhookReceived()
