"""``with_raw_response``: a call's parsed result together with the HTTP answer it came from.

::

    raw = await shop.products.with_raw_response.get(product_id)
    raw.status_code, raw.headers["etag"], raw.request_id
    product = raw.parse()
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Generic, TypeVar

import httpx

from shopkit._constants import REQUEST_ID_HEADER

T = TypeVar("T")

# The successful responses of the call being made with ``with_raw_response`` (per task or
# thread: a context variable, so concurrent calls never see each other's responses).
captured: ContextVar[list[httpx.Response] | None] = ContextVar("shopkit_captured", default=None)


def capture(response: httpx.Response) -> None:
    seen = captured.get()
    if seen is not None:
        seen.append(response)


class APIResponse(Generic[T]):
    """The HTTP answer of one SDK call (the last one, after any retry or token refresh)."""

    def __init__(self, http_response: httpx.Response, parsed: T) -> None:
        self.http_response = http_response
        self._parsed = parsed

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        value: str | None = self.http_response.headers.get(REQUEST_ID_HEADER)
        return value

    @property
    def url(self) -> httpx.URL:
        return self.http_response.request.url

    def parse(self) -> T:
        """What the plain call would have returned."""
        return self._parsed

    def __repr__(self) -> str:
        return f"<APIResponse {self.status_code} {self.http_response.request.method} {self.url}>"
