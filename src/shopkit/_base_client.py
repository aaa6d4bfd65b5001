"""Transport, retries, token refresh and error mapping: everything between a resource method
and the wire.

Retry rules (one place, tested in tests/sdk/test_retries.py):

- what: connection errors, timeouts, 429 / 502 / 503 / 504 answers, and a 409
  ``idempotency_key_in_progress`` (the first attempt with this key is still running);
- which requests: idempotent methods (GET, PUT, DELETE...) and any request that carries an
  ``Idempotency-Key``. A POST or PATCH without one is never repeated after it may have reached
  the server; it *is* repeated when the connection was never made (connect error, connect or
  pool timeout), because then the server cannot have seen it;
- how long: ``Retry-After`` when the server sends it (seconds or an HTTP date), else exponential
  backoff with jitter; a ``Retry-After`` beyond ``MAX_RETRY_AFTER`` is handed to the caller.

Auth: a 401 on a request that carried the client's access token triggers one refresh (shared by
every request that hit the same expired token, under a lock) and one replay.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx

from shopkit import _io, _json
from shopkit._constants import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_METHODS,
    MAX_RETRY_AFTER,
    RETRYABLE_STATUSES,
)
from shopkit._exceptions import make_status_error
from shopkit._io import TokenCallback
from shopkit._logs import redacted_headers
from shopkit._raw import capture
from shopkit._types import RequestOptions
from shopkit._wire import (
    IN_PROGRESS,
    NEVER_SENT,
    NO_BODY,
    NOT_TRANSIENT,
    backoff_delay,
    build_request,
    connection_error,
    error_body,
    error_code,
    log_response,
    parse_response,
    parse_retry_after,
)
from shopkit.types.auth import TokenPair

__all__ = ["BaseClient", "TokenCallback", "TokenState", "backoff_delay", "parse_retry_after"]

T = TypeVar("T")
log = logging.getLogger("shopkit")


async def _sleep(seconds: float) -> None:
    """Indirection so tests can record the delays instead of waiting them out."""
    await _io.sleep(seconds)


class TokenState:
    """The tokens, shared by a client and every ``with_options()`` copy of it."""

    def __init__(
        self, access_token: str | None, refresh_token: str | None, on_tokens: TokenCallback | None
    ) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.on_tokens = on_tokens
        self.lock = _io.Lock()

    async def store(self, tokens: TokenPair) -> None:
        self.access_token = tokens.access_token
        self.refresh_token = tokens.refresh_token
        if self.on_tokens is not None:
            await _io.notify(self.on_tokens, tokens)

    def clear(self) -> None:
        self.access_token = None
        self.refresh_token = None


class BaseClient:
    """Sends requests; knows nothing of shop resources."""

    def __init__(
        self,
        *,
        base_url: str,
        timeout: float | httpx.Timeout,
        max_retries: int,
        http_client: httpx.AsyncClient,
        owns_http_client: bool,
        default_headers: Mapping[str, str],
        tokens: TokenState,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self._http = http_client
        self._owns_http_client = owns_http_client
        self._default_headers = dict(default_headers)
        self._tokens = tokens
        # A guest cart's token: kept from the answer that opened the cart, sent on cart calls
        # while the client has no access token, and handed over (then dropped) at login.
        self.cart_token: str | None = None

    # -- tokens ---------------------------------------------------------------------------

    @property
    def access_token(self) -> str | None:
        return self._tokens.access_token

    @property
    def refresh_token(self) -> str | None:
        return self._tokens.refresh_token

    async def set_tokens(self, tokens: TokenPair) -> None:
        """Use these tokens from now on (and pass them to ``on_tokens``)."""
        await self._tokens.store(tokens)

    def clear_tokens(self) -> None:
        self._tokens.clear()

    async def refresh_tokens(self, refresh_token: str | None = None) -> TokenPair:
        """Trade the refresh token for a new pair (``POST /auth/refresh``) and keep it."""
        async with self._tokens.lock:
            return await self._refresh_unlocked(refresh_token or self._tokens.refresh_token)

    async def _refresh_unlocked(self, refresh_token: str | None) -> TokenPair:
        if not refresh_token:
            raise ValueError("no refresh token: log in first, or pass refresh_token=")
        response = await self.request(
            "POST", "/auth/refresh", json={"refresh_token": refresh_token}, authenticated=False
        )
        tokens = self.parse(TokenPair, response)
        await self._tokens.store(tokens)
        return tokens

    async def _refresh_after_401(self, sent_token: str | None) -> bool:
        """Refresh once for every request that failed with the same stale token.

        Returns False when there is nothing to refresh with (the 401 then stands).
        """
        async with self._tokens.lock:
            current = self._tokens.access_token
            if current is not None and current != sent_token:
                return True  # another request refreshed while this one waited for the lock
            if not self._tokens.refresh_token:
                return False
            log.debug("access token refused or missing; refreshing")
            await self._refresh_unlocked(self._tokens.refresh_token)
            return True

    # -- requests -------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = NO_BODY,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        options: RequestOptions | None = None,
    ) -> httpx.Response:
        """Send one logical request (retried and re-authenticated as the rules above say).

        ``options`` are the caller's per-call ``extra_headers`` and ``timeout``.
        """
        method = method.upper()
        options = options or {}
        extra = {**(headers or {}), **options.get("extra_headers", {})}
        timeout = options.get("timeout", self.timeout)
        retry_safe = method in IDEMPOTENT_METHODS or any(
            k.lower() == IDEMPOTENCY_KEY_HEADER.lower() for k in extra
        )
        content = None if json is NO_BODY else _json.dumps(json).encode()
        retries_done = 0
        refreshed = False
        while True:
            if authenticated and self._tokens.access_token is None and self._tokens.refresh_token:
                # Built from a saved refresh token only: get an access token before the call.
                await self._refresh_after_401(None)
            token = self._tokens.access_token if authenticated else None
            request = self._build(method, path, params, content, extra, token, timeout)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "Sending %s %s headers=%s", method, request.url, redacted_headers(request)
                )
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                retryable = not isinstance(exc, NOT_TRANSIENT) and (
                    retry_safe or isinstance(exc, NEVER_SENT)
                )
                if retryable and retries_done < self.max_retries:
                    delay = backoff_delay(retries_done)
                    log.info(
                        "Retrying %s %s in %.2fs (retry %d of %d) after %s",
                        method,
                        request.url,
                        delay,
                        retries_done + 1,
                        self.max_retries,
                        type(exc).__name__,
                    )
                    await _sleep(delay)
                    retries_done += 1
                    continue
                raise connection_error(exc, request) from exc
            log_response(response)

            if response.is_success:
                capture(response)
                return response

            body = error_body(response)
            if (
                response.status_code == 401
                and token is not None
                and not refreshed
                and error_code(body) != "invalid_credentials"  # a wrong password, not a stale token
                and await self._refresh_after_401(token)
            ):
                refreshed = True
                continue

            retry_after = parse_retry_after(response.headers)
            if (
                (response.status_code in RETRYABLE_STATUSES or error_code(body) == IN_PROGRESS)
                and retry_safe
                and retries_done < self.max_retries
                and (retry_after is None or retry_after <= MAX_RETRY_AFTER)
            ):
                delay = retry_after if retry_after is not None else backoff_delay(retries_done)
                log.info(
                    "Retrying %s %s in %.2fs (retry %d of %d) after %d",
                    method,
                    request.url,
                    delay,
                    retries_done + 1,
                    self.max_retries,
                    response.status_code,
                )
                await _sleep(delay)
                retries_done += 1
                continue
            raise make_status_error(response, body, retry_after=retry_after)

    def _build(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        extra: Mapping[str, str],
        token: str | None,
        timeout: float | httpx.Timeout,
    ) -> httpx.Request:
        return build_request(
            self._http,
            self.base_url + path,
            method=method,
            default_headers=self._default_headers,
            params=params,
            content=content,
            extra=extra,
            token=token,
            timeout=timeout,
        )

    # -- responses ------------------------------------------------------------------------

    def parse(self, type_: type[T], response: httpx.Response) -> T:
        """Validate a success body against a model (an unreadable body is an SDK error)."""
        return parse_response(type_, response)

    async def aclose(self) -> None:
        """Close the connection pool if this client created it (never one it was given)."""
        if self._owns_http_client:
            await self._http.aclose()
