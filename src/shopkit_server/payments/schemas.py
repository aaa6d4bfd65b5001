"""Request and response bodies of payments."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shopkit_server.money import Money, PriceBound
from shopkit_server.orders.models import PaymentStatus
from shopkit_server.payments.service import PaymentView


class RecordPaymentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Annotated[
        PriceBound | None,
        Field(description="What was received; when given it must equal the order's total"),
    ] = None


class PaymentIntentOut(BaseModel):
    order_id: str
    payment_method: str
    payment_status: PaymentStatus
    intent_id: str | None = Field(description="The provider's payment id (Stripe: pi_...)")
    client_secret: str | None = Field(
        description="Hand to the provider's client SDK (Stripe: PaymentSheet / "
        "confirmPayment) to pay; null for manual orders"
    )
    amount: Money = Field(description="The order's total")
    currency: str

    @classmethod
    def of(cls, view: PaymentView, currency: str) -> PaymentIntentOut:
        intent = view.intent
        return cls(
            order_id=view.order.id,
            payment_method=view.order.payment_method,
            payment_status=view.order.payment_status,
            intent_id=intent.id if intent else None,
            client_secret=intent.client_secret if intent else None,
            amount=view.order.total,
            currency=currency,
        )


class WebhookReceived(BaseModel):
    received: bool = True
