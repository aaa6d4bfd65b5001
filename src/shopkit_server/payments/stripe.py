"""Stripe, through the official ``stripe`` library's async client over httpx.

One PaymentIntent per order: created with the order id as Stripe's idempotency key and the
order id in its metadata (``order_id``), for the order's exact total in minor units. Webhooks
are verified with the library's own helper (``t=<unix>,v1=<HMAC-SHA256 of "t.payload">``,
five minutes' tolerance).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe as stripe_sdk

from shopkit_server.money import to_minor_units
from shopkit_server.orders.models import Order
from shopkit_server.payments.provider import (
    Intent,
    InvalidSignatureError,
    ProviderError,
    ProviderEvent,
    ProviderEventKind,
)

SIGNATURE_TOLERANCE_SECONDS = 300
_KINDS = {
    "payment_intent.succeeded": ProviderEventKind.SUCCEEDED,
    "payment_intent.payment_failed": ProviderEventKind.FAILED,
}


def _intent(resource: Any) -> Intent:
    obj: dict[str, Any] = resource.to_dict()
    return Intent(
        id=str(obj["id"]),
        client_secret=obj.get("client_secret"),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]),
        status=str(obj["status"]),
    )


class StripeProvider:
    name = "stripe"

    def __init__(
        self, *, secret_key: str, webhook_secret: str | None, api_base: str, currency: str
    ) -> None:
        self._http = stripe_sdk.HTTPXClient()
        self._client = stripe_sdk.StripeClient(
            secret_key,
            http_client=self._http,
            base_addresses={"api": api_base},
            max_network_retries=2,
        )
        self._webhook_secret = webhook_secret
        self.currency = currency

    async def create_intent(self, order: Order) -> Intent:
        try:
            intent = await self._client.v1.payment_intents.create_async(
                {
                    "amount": to_minor_units(order.total, self.currency),
                    "currency": self.currency,
                    "metadata": {"order_id": order.id},
                    "automatic_payment_methods": {"enabled": True},
                },
                {"idempotency_key": f"shopkit-order-{order.id}"},
            )
        except stripe_sdk.StripeError as exc:
            raise ProviderError(type(exc).__name__) from exc
        return _intent(intent)

    async def get_intent(self, intent_id: str) -> Intent:
        try:
            return _intent(await self._client.v1.payment_intents.retrieve_async(intent_id))
        except stripe_sdk.StripeError as exc:
            raise ProviderError(type(exc).__name__) from exc

    async def cancel_intent(self, intent_id: str) -> None:
        try:
            await self._client.v1.payment_intents.cancel_async(intent_id)
        except stripe_sdk.InvalidRequestError:
            return  # already cancelled or succeeded: nothing to stop
        except stripe_sdk.StripeError as exc:
            raise ProviderError(type(exc).__name__) from exc

    async def refund(self, order: Order) -> None:
        if order.payment_intent_id is None:
            raise ProviderError("the order has no PaymentIntent")
        try:
            await self._client.v1.refunds.create_async(
                {"payment_intent": order.payment_intent_id},
                {"idempotency_key": f"shopkit-refund-{order.id}"},
            )
        except stripe_sdk.StripeError as exc:
            raise ProviderError(type(exc).__name__) from exc

    def parse_event(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        if not self._webhook_secret:
            raise InvalidSignatureError("no webhook secret is configured")
        try:
            event = stripe_sdk.Webhook.construct_event(
                payload,
                headers.get("stripe-signature"),
                self._webhook_secret,
                tolerance=SIGNATURE_TOLERANCE_SECONDS,
            )
        except (stripe_sdk.SignatureVerificationError, ValueError) as exc:
            raise InvalidSignatureError(str(exc)) from None
        try:
            obj = event.to_dict()["data"]["object"]
            kind = _KINDS.get(str(event["type"]), ProviderEventKind.OTHER)
            intent_id = str(obj["id"]) if kind is not ProviderEventKind.OTHER else None
            metadata = obj.get("metadata") or {}
            order_id = metadata.get("order_id") if kind is not ProviderEventKind.OTHER else None
            return ProviderEvent(
                id=str(event["id"]),
                kind=kind,
                intent_id=intent_id,
                order_id=str(order_id) if order_id else None,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidSignatureError("not a Stripe event") from exc

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]
