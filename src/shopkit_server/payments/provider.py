"""What a payment provider does for shopkit; each provider is one module implementing it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from shopkit_server.orders.models import Order


class ProviderEventKind(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    OTHER = "other"  # an event shopkit does not act on (answered 200, ignored)


@dataclass(frozen=True)
class Intent:
    """The provider's one payment of an order, as a client needs it to pay."""

    id: str
    client_secret: str | None
    amount: int  # minor units
    currency: str
    status: str  # the provider's own word (Stripe: requires_payment_method, succeeded...)


@dataclass(frozen=True)
class ProviderEvent:
    id: str  # the provider's event id: applied once
    kind: ProviderEventKind
    intent_id: str | None
    order_id: str | None  # from the intent's metadata


class InvalidSignatureError(Exception):
    """The webhook's signature is missing, wrong or too old, or its body is not an event."""


class ProviderError(Exception):
    """The provider did not answer, or refused the call."""


class PaymentProvider(Protocol):
    name: str

    async def create_intent(self, order: Order) -> Intent:
        """The order's payment, created once: the order id is the idempotency key, so a
        retried or raced call returns the same intent."""
        ...

    async def get_intent(self, intent_id: str) -> Intent: ...

    async def cancel_intent(self, intent_id: str) -> None:
        """Stop an unpaid intent from being paid (the order was cancelled)."""
        ...

    async def refund(self, order: Order) -> None:
        """Refund the order's payment in full, once (idempotent per order)."""
        ...

    def parse_event(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify a webhook's signature and read it; raises :class:`InvalidSignatureError`."""
        ...

    async def aclose(self) -> None: ...
