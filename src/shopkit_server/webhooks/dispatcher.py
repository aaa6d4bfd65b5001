"""The dispatcher: delivers outbox events to endpoints, at least once, in order per key.

Each round: fan new outbox events out into deliveries, claim the deliveries that are due
(leased: a dispatcher killed mid-send leaves them to go out again when the lease ends), POST
each one signed, and record the outcome. A failure is retried with exponential back-off
(``webhooks_retry_base_seconds`` doubling up to ``webhooks_retry_max_seconds``) until
``webhooks_max_attempts``, then the delivery is given up (``failed``; an admin may replay it).
An order's next event waits at an endpoint until the one before it is delivered or given up.
All state is in the store, so a restart carries on where the last process stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

import anyio
import httpx
import structlog

from shopkit_server import __version__
from shopkit_server.clock import utc_now
from shopkit_server.settings import Settings
from shopkit_server.webhooks.errors import WebhookUrlRefused
from shopkit_server.webhooks.models import DeliveryState, DueDelivery
from shopkit_server.webhooks.repository import WebhookRepository
from shopkit_server.webhooks.signing import sign
from shopkit_server.webhooks.urls import check_url

log = structlog.get_logger("shopkit.webhooks")

BATCH = 50
CONCURRENCY = 8
MAX_BATCHES_PER_ROUND = 20
_ERROR_TEXT = 300


def backoff(attempts: int, *, base: float, longest: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base, 2 base, 4 base ... longest."""
    return timedelta(seconds=min(longest, base * 2 ** max(0, attempts - 1)))


def body_of(due: DueDelivery) -> bytes:
    event = due.delivery.event
    payload = {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "data": event.data,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class Dispatcher:
    def __init__(
        self,
        repo: WebhookRepository,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.clock = clock
        self._http = http
        self._own_http: httpx.AsyncClient | None = None

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.webhooks_timeout_seconds * 2 + 1)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._own_http = self._http = httpx.AsyncClient(
                follow_redirects=False,
                timeout=self.settings.webhooks_timeout_seconds,
                headers={"User-Agent": f"shopkit-webhooks/{__version__}"},
            )
        return self._http

    async def run_once(self) -> int:
        """One round; returns how many deliveries it attempted.

        Claims again after each batch: a delivered event lets the next one of its order go
        in the same round.
        """
        now = self.clock()
        while await self.repo.fan_out(now, BATCH) == BATCH:
            pass
        attempted = 0
        for _ in range(MAX_BATCHES_PER_ROUND):
            now = self.clock()
            due = await self.repo.claim_due(now, now + self.lease, BATCH)
            if not due:
                break
            limiter = anyio.CapacityLimiter(CONCURRENCY)

            async def one(item: DueDelivery, limiter: anyio.CapacityLimiter = limiter) -> None:
                async with limiter:
                    await self.deliver(item)

            async with anyio.create_task_group() as group:
                for item in due:
                    group.start_soon(one, item)
            attempted += len(due)
        return attempted

    async def deliver(self, due: DueDelivery) -> None:
        delivery = due.delivery
        status: int | None = None
        error: str | None = None
        try:
            await check_url(due.url, allow_private=self.settings.webhooks_allow_private)
            body = body_of(due)
            timestamp = int(self.clock().timestamp())
            response = await self._client().post(
                due.url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Shopkit-Event-Id": delivery.event.id,
                    "Shopkit-Event-Type": delivery.event.type,
                    "Shopkit-Signature": sign(body, due.secret, timestamp),
                },
                timeout=self.settings.webhooks_timeout_seconds,
            )
            status = response.status_code
            if 200 <= status < 300:
                await self.repo.finish(
                    delivery.id,
                    state=DeliveryState.DELIVERED,
                    at=self.clock(),
                    next_attempt_at=self.clock(),
                    response_status=status,
                    error=None,
                )
                log.info("webhook_delivered", delivery_id=delivery.id, status=status)
                return
            error = f"HTTP {status}"
        except WebhookUrlRefused as exc:
            error = exc.detail
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:_ERROR_TEXT]
        now = self.clock()
        gave_up = delivery.attempts >= self.settings.webhooks_max_attempts
        await self.repo.finish(
            delivery.id,
            state=DeliveryState.FAILED if gave_up else DeliveryState.PENDING,
            at=now,
            next_attempt_at=now
            + backoff(
                delivery.attempts,
                base=self.settings.webhooks_retry_base_seconds,
                longest=self.settings.webhooks_retry_max_seconds,
            ),
            response_status=status,
            error=error,
        )
        log.warning(
            "webhook_delivery_failed",
            delivery_id=delivery.id,
            attempts=delivery.attempts,
            gave_up=gave_up,
            error=error,
        )

    async def run(self) -> None:
        """Rounds until cancelled; an error in one round is logged and the next one runs."""
        while True:
            try:
                attempted = await self.run_once()
            except Exception:
                log.exception("webhook_dispatch_failed")
                attempted = 0
            if attempted < BATCH * MAX_BATCHES_PER_ROUND:
                await anyio.sleep(self.settings.webhooks_poll_seconds)

    async def aclose(self) -> None:
        if self._own_http is not None:
            await self._own_http.aclose()
            self._own_http = None
