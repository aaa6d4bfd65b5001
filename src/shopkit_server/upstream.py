"""Calls from one shopkit service to another over HTTP.

One pooled client per process (opened in the app's lifespan, :func:`make_http_client`) carries
every call: an ``httpx.AsyncClient`` whose aiohttp pool :class:`Upstream` calls directly (see
peer_transport); any other ``httpx.AsyncClient`` (tests route one to in-memory apps) is called
through httpx. Either way a call answers a :class:`PeerReply`, and fails the same way.
Each call has a total time budget (``SHOPKIT_UPSTREAM_TIMEOUT``): attempts share it, so a slow or
dead peer costs at most that long before the caller answers ``503 upstream_unavailable`` —
never a hang, never a 500. Only idempotent calls are retried (reads, and writes that carry their
own idempotency key such as a stock reservation id), with jittered exponential backoff.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from shopkit_server.errors import ShopError, UpstreamRefused, UpstreamUnavailable
from shopkit_server.peer_transport import PeerTransport
from shopkit_server.security import SERVICE_TOKEN_SECONDS, TokenCodec

log = structlog.get_logger("shopkit.upstream")

RETRY_STATUSES = frozenset({502, 503, 504})
# A peer's refusal of what this request asked for is permanent: answered with the same status
# and code, so the SDK does not retry it as it would a 503.
PASSED_ON_STATUSES = frozenset({400, 403, 404, 409, 410, 413, 422})
# Refusals that mean the services disagree (credentials, routes, formats): a deployment fault,
# answered 500 ``upstream_refused``. Other 4xx (408, 429, nonsense) stay 503s.
MISMATCH_STATUSES = frozenset({401, 405, 406, 415})
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_BACKOFF_BASE = 0.05
_BACKOFF_CAP = 0.5
# A cached service token is renewed when less than this is left of its life, so a token never
# expires between being sent and being checked (clocks of one deployment agree to seconds).
_TOKEN_MARGIN = 20.0


# Connections to the peers, all of them together. A peer is one event loop: more requests in
# flight to it than this only queue there instead of here.
PEER_CONNECTIONS = 16


class PeerClient(httpx.AsyncClient):
    """The process-wide client for peer calls: httpx over aiohttp's pool (peer_transport),
    whose pool :class:`Upstream` calls directly as ``peer``."""

    def __init__(self, timeout: float) -> None:
        self.peer = PeerTransport(connections=PEER_CONNECTIONS)
        super().__init__(
            timeout=httpx.Timeout(timeout),
            transport=self.peer,
            headers={"User-Agent": "shopkit-service", "Accept-Encoding": "identity"},
        )


def make_http_client(timeout: float) -> httpx.AsyncClient:
    """The process-wide client for peer calls (a :class:`PeerClient`).

    Replies come uncompressed (``Accept-Encoding: identity``): on loopback or a private
    network, gzip of every reply over 1 KiB cost both ends more CPU than it saved.
    """
    return PeerClient(timeout)


@dataclass(frozen=True, slots=True)
class PeerReply:
    """A peer's answer, read whole: its status, its body (decoded) and the path asked for."""

    status_code: int
    content: bytes
    path: str


def _json_body(value: Any) -> bytes:
    """A request's JSON body, encoded as httpx's ``json=`` encodes it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


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
        self._base_path = urlsplit(self.base_url).path
        self._http = http
        self._peer = http.peer if isinstance(http, PeerClient) else None
        # Sent on every direct call under the caller's, as the client would send them.
        self._headers = dict(http.headers)
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
    ) -> PeerReply:
        """Send, retrying what is safe to retry; raise :class:`UpstreamUnavailable` on failure.

        Any answer other than a gateway error (2xx, 4xx, 500) is returned for the caller to map.
        """
        deadline = time.monotonic() + self._timeout
        sent_headers = dict(headers or {})
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        if request_id:
            sent_headers.setdefault("X-Request-ID", str(request_id))
        url = self.base_url + path
        content: bytes | None = None
        if self._peer is not None:
            sent_headers = {**self._headers, **sent_headers}
            if json is not None:
                content = _json_body(json)
                sent_headers["Content-Type"] = "application/json"
        attempts = 1 + (self._retries if idempotent else 0)
        reason = "no attempt"
        for attempt in range(attempts):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                reason = "time budget spent"
                break
            try:
                if self._peer is not None:
                    status, body = await self._peer.call(
                        method, url, headers=sent_headers, content=content, budget=remaining
                    )
                else:
                    response = await self._http.request(
                        method, url, json=json, headers=sent_headers, timeout=remaining
                    )
                    status, body = response.status_code, response.content
            except httpx.TimeoutException:
                reason = "timed out"
            except httpx.TransportError as exc:
                reason = f"connection failed ({type(exc).__name__})"
            else:
                if status not in RETRY_STATUSES:
                    return PeerReply(status, body, self._base_path + path.partition("?")[0])
                reason = f"answered {status}"
            if attempt + 1 < attempts:
                delay = min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt) * (0.5 + random.random())  # noqa: S311
                if time.monotonic() + delay >= deadline:
                    break
                await asyncio.sleep(delay)
        log.warning("upstream_unavailable", peer=self.name, method=method, path=path, reason=reason)
        raise UpstreamUnavailable(f"The {self.name} service is unavailable ({reason}).")

    def unexpected(self, reply: PeerReply) -> ShopError:
        """The error for an answer the caller cannot map (a 500, an unknown code, a bad body).

        A peer's 4xx is a refusal, never disguised as "unavailable": see ``PASSED_ON_STATUSES``.
        The peer's text is never passed on (it may hold internals); the log keeps the status.
        """
        status = reply.status_code
        if status in PASSED_ON_STATUSES or status in MISMATCH_STATUSES:
            code = self.error_code(reply)
            log.warning(
                "upstream_refused",
                peer=self.name,
                status=status,
                code=code,
                path=reply.path,
            )
            if status in PASSED_ON_STATUSES:
                code = code if code is not None and _CODE.fullmatch(code) else "upstream_refused"
                return UpstreamRefused(
                    f"The {self.name} service refused the request ({code}).",
                    status_code=status,
                    code=code,
                )
            return UpstreamRefused(f"The {self.name} service refused this service's call.")
        log.warning(
            "upstream_unexpected_answer",
            peer=self.name,
            status=status,
            path=reply.path,
        )
        return UpstreamUnavailable(f"The {self.name} service gave an unexpected answer ({status}).")

    def json(self, reply: PeerReply) -> Any:
        """The reply's JSON, numbers with a fraction as exact ``Decimal``; garbage -> 503."""
        try:
            return json.loads(reply.content, parse_float=Decimal)
        except ValueError:  # includes UnicodeDecodeError
            raise self.unexpected(reply) from None

    @staticmethod
    def error_code(reply: PeerReply) -> str | None:
        """The ``code`` of a shopkit error body, or None when the body is not one."""
        try:
            body = json.loads(reply.content)
        except ValueError:
            return None
        code = body.get("code") if isinstance(body, dict) else None
        return code if isinstance(code, str) else None


class ServiceToken:
    """This process's service token for ``/internal`` calls, reused until close to expiry."""

    def __init__(self, tokens: TokenCodec, service: str) -> None:
        self._tokens = tokens
        self._service = service
        self._token = ""
        self._renew_at = 0.0

    def header(self) -> dict[str, str]:
        now = time.monotonic()
        if now >= self._renew_at:
            self._token = self._tokens.issue_service_token(self._service)
            self._renew_at = now + SERVICE_TOKEN_SECONDS - _TOKEN_MARGIN
        return {"Authorization": f"Bearer {self._token}"}
