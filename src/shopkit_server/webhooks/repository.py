"""Storage interface of webhooks: endpoints, the outbox's fan-out, deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shopkit_server.orders.models import OutboxEvent
from shopkit_server.pagination import PageResult
from shopkit_server.webhooks.models import Delivery, DeliveryState, DueDelivery, Endpoint


class WebhookRepository(Protocol):
    async def add(self, endpoint: Endpoint) -> None: ...

    async def get(self, endpoint_id: str) -> Endpoint | None: ...

    async def endpoints(self) -> list[Endpoint]:
        """Every endpoint, oldest first (a shop has a handful; creation is capped)."""
        ...

    async def update(self, endpoint: Endpoint) -> bool:
        """Store url, event types and active of ``endpoint``; False if it does not exist."""
        ...

    async def delete(self, endpoint_id: str) -> bool:
        """Delete the endpoint and its deliveries; False if it did not exist."""
        ...

    async def fan_out(self, now: datetime, limit: int) -> int:
        """Turn up to ``limit`` outbox events not yet fanned out, oldest first, into one
        pending delivery per matching active endpoint (at most one per event and endpoint,
        however often this runs). Returns how many events it took."""
        ...

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[DueDelivery]:
        """Pending deliveries due by ``now`` that are first of their key at their endpoint
        (per-key ordering), oldest event first. Each is leased until ``lease_until`` (its next
        attempt time moves there, its attempt count goes up): a dispatcher that dies while
        sending leaves it to be sent again once the lease runs out."""
        ...

    async def finish(
        self,
        delivery_id: str,
        *,
        state: DeliveryState,
        at: datetime,
        next_attempt_at: datetime,
        response_status: int | None,
        error: str | None,
    ) -> None:
        """Record the outcome of an attempt."""
        ...

    async def deliveries(self, webhook_id: str, *, offset: int, limit: int) -> PageResult[Delivery]:
        """The endpoint's deliveries, newest event first."""
        ...

    async def replay(self, webhook_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        """Make the delivery pending and due now; None if the endpoint has no such delivery."""
        ...

    async def events(self, key: str | None = None, limit: int = 100) -> list[OutboxEvent]:
        """Outbox events (of one key), oldest first: what happened, for operators and tests."""
        ...
