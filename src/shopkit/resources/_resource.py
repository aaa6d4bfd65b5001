from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shopkit._raw import APIResponse, captured

if TYPE_CHECKING:
    from shopkit._base_client import BaseClient
    from shopkit._sync._base_client import SyncBaseClient


class AsyncAPIResource:
    """A group of endpoints (one noun) sending through the client that owns it."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    @property
    def with_raw_response(self) -> AsyncRawResponse:
        """The same methods, answering an :class:`~shopkit.APIResponse` (status, headers,
        request id, and ``.parse()`` for the usual result)::

            raw = await shop.products.with_raw_response.get(pid)
        """
        return AsyncRawResponse(self)


class SyncAPIResource:
    """A group of endpoints (one noun) sending through the sync client that owns it."""

    def __init__(self, client: SyncBaseClient) -> None:
        self._client = client

    @property
    def with_raw_response(self) -> SyncRawResponse:
        """The same methods, answering an :class:`~shopkit.APIResponse` (status, headers,
        request id, and ``.parse()`` for the usual result)::

            raw = shop.products.with_raw_response.get(pid)
        """
        return SyncRawResponse(self)


class AsyncRawResponse:
    def __init__(self, resource: AsyncAPIResource) -> None:
        self._resource = resource

    def __getattr__(self, name: str) -> Callable[..., Awaitable[APIResponse[Any]]]:
        method = _public_method(self._resource, name)

        async def call(*args: Any, **kwargs: Any) -> APIResponse[Any]:
            seen: list[Any] = []
            token = captured.set(seen)
            try:
                parsed = await method(*args, **kwargs)
            finally:
                captured.reset(token)
            return APIResponse(seen[-1], parsed)

        return call


class SyncRawResponse:
    def __init__(self, resource: SyncAPIResource) -> None:
        self._resource = resource

    def __getattr__(self, name: str) -> Callable[..., APIResponse[Any]]:
        method = _public_method(self._resource, name)

        def call(*args: Any, **kwargs: Any) -> APIResponse[Any]:
            seen: list[Any] = []
            token = captured.set(seen)
            try:
                parsed = method(*args, **kwargs)
            finally:
                captured.reset(token)
            return APIResponse(seen[-1], parsed)

        return call


def _public_method(resource: object, name: str) -> Callable[..., Any]:
    if name.startswith("_") or name in ("iterate", "with_raw_response"):
        # iterate() makes one request per page: walk pages with list() and next_page().
        raise AttributeError(f"with_raw_response has no {name!r}")
    method: Callable[..., Any] = getattr(resource, name)
    return method


def segment(value: str) -> str:
    """An id as one path segment: ``"../x"`` or ``"a/b"`` can never reach another route."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty id string, got {value!r}")
    return quote(value, safe="")


def money(value: Decimal | int | str | float, name: str = "amount") -> Decimal:
    """An amount to send: exact ``Decimal`` (a float goes through its shortest repr, 19.99)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, not a bool")
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
