"""The sync-agnostic half of the SDK's transport, shared by both clients: retry timing,
request building, response parsing and error mapping (the retry loop itself is in
``_base_client.py``, and generated for the sync client from there)."""

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

from shopkit import _json
from shopkit._constants import INITIAL_RETRY_DELAY, MAX_RETRY_DELAY, REQUEST_ID_HEADER
from shopkit._exceptions import APIConnectionError, APIResponseValidationError, APITimeoutError
from shopkit._version import __version__

T = TypeVar("T")
log = logging.getLogger("shopkit")

NO_BODY: Any = object()
IN_PROGRESS = "idempotency_key_in_progress"
USER_AGENT = f"shopkit-python/{__version__}"

# Errors raised before a connection existed: the request was provably not sent.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Errors that retrying cannot fix (a bad URL scheme, a request httpx refuses to send).
NOT_TRANSIENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


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


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    url: str,
    *,
    method: str,
    default_headers: Mapping[str, str],
    params: Mapping[str, Any] | None,
    content: bytes | None,
    extra: Mapping[str, str],
    token: str | None,
    timeout: float | httpx.Timeout,
) -> httpx.Request:
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    headers.update(default_headers)
    if content is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.update(extra)
    return http.build_request(
        method,
        url,
        params=dict(params) if params else None,
        content=content,
        headers=headers,
        timeout=timeout,
    )


def parse_response(type_: type[T], response: httpx.Response) -> T:
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


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(type_: Any) -> TypeAdapter[Any]:
    adapter = _adapters.get(type_)
    if adapter is None:
        adapter = _adapters[type_] = TypeAdapter(type_)
    return adapter


def _name(type_: Any) -> str:
    return getattr(type_, "__name__", None) or str(type_)


def error_body(response: httpx.Response) -> Any:
    try:
        return _json.loads(response.content) if response.content else None
    except ValueError:
        return None


def error_code(body: Any) -> str | None:
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def log_response(response: httpx.Response) -> None:
    log.info(
        'HTTP %s %s "%d %s" request_id=%s',
        response.request.method,
        response.request.url,
        response.status_code,
        response.reason_phrase,
        response.headers.get(REQUEST_ID_HEADER, "-"),
    )


def connection_error(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    target = f"{request.method} {request.url}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"Request timed out: {target} ({type(exc).__name__})", request=request
        )
    reason = str(exc) or type(exc).__name__
    return APIConnectionError(f"Connection error: {target}: {reason}", request=request)
