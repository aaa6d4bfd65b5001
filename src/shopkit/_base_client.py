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

import email.utils
import logging
import math
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from shopkit import _io, _json
from shopkit._constants import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_METHODS,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    REQUEST_ID_HEADER,
    RETRYABLE_STATUSES,
)
from shopkit._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    make_status_error,
)
from shopkit._io import TokenCallback
from shopkit._logs import redacted_headers
from shopkit._raw import capture
from shopkit._types import RequestOptions
from shopkit._version import __version__
from shopkit.types.auth import TokenPair

__all__ = ["BaseClient", "TokenCallback", "TokenState", "backoff_delay", "parse_retry_after"]

T = TypeVar("T")
log = logging.getLogger("shopkit")

_NO_BODY: Any = object()
_IN_PROGRESS = "idempotency_key_in_progress"
USER_AGENT = f"shopkit-python/{__version__}"

# Errors raised before a connection existed: the request was provably not sent.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Errors that retrying cannot fix (a bad URL scheme, a request httpx refuses to send).
_NOT_TRANSIENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


async def _sleep(seconds: float) -> None:
    """Indirection so tests can record the delays instead of waiting them out."""
    await _io.sleep(seconds)


_random: Callable[[], float] = random.random


def backoff_delay(retries_done: int) -> float:
    """Seconds to wait before retry number ``retries_done + 1`` (0.5, 1, 2 ... <= 8, -25 %)."""
    base = min(INITIAL_RETRY_DELAY * 2.0**retries_done, MAX_RETRY_DELAY)
    return base * (1.0 - 0.25 * _random())


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds: delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


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
        json: Any = _NO_BODY,
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
        content = None if json is _NO_BODY else _json.dumps(json).encode()
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
                retryable = not isinstance(exc, _NOT_TRANSIENT) and (
                    retry_safe or isinstance(exc, _NEVER_SENT)
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
                raise _connection_error(exc, request) from exc
            _log_response(response)

            if response.is_success:
                capture(response)
                return response

            body = _error_body(response)
            if (
                response.status_code == 401
                and token is not None
                and not refreshed
                and _code(body) != "invalid_credentials"  # a wrong password, not a stale token
                and await self._refresh_after_401(token)
            ):
                refreshed = True
                continue

            retry_after = parse_retry_after(response.headers)
            if (
                (response.status_code in RETRYABLE_STATUSES or _code(body) == _IN_PROGRESS)
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
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        headers.update(self._default_headers)
        if content is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        headers.update(extra)
        return self._http.build_request(
            method,
            self.base_url + path,
            params=dict(params) if params else None,
            content=content,
            headers=headers,
            timeout=timeout,
        )

    # -- responses ------------------------------------------------------------------------

    def parse(self, type_: type[T], response: httpx.Response) -> T:
        """Validate a success body against a model (an unreadable body is an SDK error)."""
        try:
            data = _json.loads(response.content) if response.content else None
        except ValueError as exc:
            raise APIResponseValidationError(
                f"{response.status_code} response is not JSON", response=response
            ) from exc
        try:
            result: T = _adapter(type_).validate_python(data)
        except ValidationError as exc:
            raise APIResponseValidationError(
                f"{response.status_code} response does not match {_name(type_)}: "
                f"{exc.error_count()} error(s), first: {exc.errors()[0]['msg']} "
                f"at {'.'.join(str(p) for p in exc.errors()[0]['loc']) or 'top level'}",
                response=response,
                body=data,
            ) from exc
        return result

    async def aclose(self) -> None:
        """Close the connection pool if this client created it (never one it was given)."""
        if self._owns_http_client:
            await self._http.aclose()


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(type_: Any) -> TypeAdapter[Any]:
    adapter = _adapters.get(type_)
    if adapter is None:
        adapter = _adapters[type_] = TypeAdapter(type_)
    return adapter


def _name(type_: Any) -> str:
    return getattr(type_, "__name__", None) or str(type_)


def _error_body(response: httpx.Response) -> Any:
    try:
        return _json.loads(response.content) if response.content else None
    except ValueError:
        return None


def _code(body: Any) -> str | None:
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def _log_response(response: httpx.Response) -> None:
    log.info(
        'HTTP %s %s "%d %s" request_id=%s',
        response.request.method,
        response.request.url,
        response.status_code,
        response.reason_phrase,
        response.headers.get(REQUEST_ID_HEADER, "-"),
    )


def _connection_error(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    target = f"{request.method} {request.url}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"Request timed out: {target} ({type(exc).__name__})", request=request
        )
    reason = str(exc) or type(exc).__name__
    return APIConnectionError(f"Connection error: {target}: {reason}", request=request)
