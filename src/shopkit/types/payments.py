"""Payments (``/orders/{id}/payments``, ``/orders/{id}/payment-intent``)."""

from __future__ import annotations

from shopkit.types._base import Money, ShopkitModel


class PaymentIntent(ShopkitModel):
    """An order's payment with its provider: hand ``client_secret`` to the provider's SDK
    (Stripe's PaymentSheet or ``confirmPayment``). The same intent every time it is asked for."""

    order_id: str
    payment_method: str
    payment_status: str
    intent_id: str | None = None
    client_secret: str | None = None
    amount: Money
    currency: str
