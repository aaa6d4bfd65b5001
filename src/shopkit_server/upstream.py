"""Calls from one shopkit service to another over HTTP.

One pooled ``httpx.AsyncClient`` per process (opened in the app's lifespan) carries every call.
Each call has a total time budget (``SHOPKIT_UPSTREAM_TIMEOUT``): attempts share it, so a slow or
dead peer costs at most that long before the caller answers ``503 upstream_unavailable`` —
never a hang, never a 500. Only idempotent calls are retried (reads, and writes that carry their
own idempotency key such as a stock reservation id), with jittered exponential backoff.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from typing import Any

import httpx
import structlog

from shopkit_server.errors import UpstreamUnavailable

log = structlog.get_logger("shopkit.upstream")

RETRY_STATUSES = frozenset({502, 503, 504})
_BACKOFF_BASE = 0.05
_BACKOFF_CAP = 0.5


def make_http_client(timeout: float) -> httpx.AsyncClient:
    """The process-wide client: keep-alive pool sized for a busy service."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        headers={"User-Agent": "shopkit-service"},
    )


class Upstream:
    """One peer service at ``base_url``."""

    def __init__(
        self,
        name: str,
        base_url: str,
        http: httpx.AsyncClient,
        *,
        timeout: float,
        retries: int,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._http = http
        self._timeout = timeout
        self._retries = retries

    async def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send, retrying what is safe to retry; raise :class:`UpstreamUnavailable` on failure.

        Any answer other than a gateway error (2xx, 4xx, 500) is returned for the caller to map.
        """
        deadline = time.monotonic() + self._timeout
        sent_headers = dict(headers or {})
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        if request_id:
            sent_headers.setdefault("X-Request-ID", str(request_id))
        attempts = 1 + (self._retries if idempotent else 0)
        reason = "no attempt"
        for attempt in range(attempts):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                reason = "time budget spent"
                break
            try:
                reply = await self._http.request(
                    method,
                    self.base_url + path,
                    json=json,
                    headers=sent_headers,
                    timeout=remaining,
                )
            except httpx.TimeoutException:
                reason = "timed out"
            except httpx.TransportError as exc:
                reason = f"connection failed ({type(exc).__name__})"
            else:
                if reply.status_code not in RETRY_STATUSES:
                    return reply
                reason = f"answered {reply.status_code}"
            if attempt + 1 < attempts:
                delay = min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt) * (0.5 + random.random())  # noqa: S311
                if time.monotonic() + delay >= deadline:
                    break
                await asyncio.sleep(delay)
        log.warning("upstream_unavailable", peer=self.name, method=method, path=path, reason=reason)
        raise UpstreamUnavailable(f"The {self.name} service is unavailable ({reason}).")
