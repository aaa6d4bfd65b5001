"""``AsyncShopClient``: the entry point of the SDK."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from types import TracebackType

import httpx

from shopkit._base_client import BaseClient, TokenCallback, TokenState
from shopkit._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ENV_ACCESS_TOKEN,
    ENV_BASE_URL,
)
from shopkit._exceptions import ServiceUnavailableError
from shopkit._types import NOT_GIVEN, NotGiven
from shopkit.resources import (
    AsyncAddresses,
    AsyncAuth,
    AsyncCart,
    AsyncCategories,
    AsyncOrders,
    AsyncPayments,
    AsyncProducts,
    AsyncUsers,
    AsyncWebhooks,
)
from shopkit.types.health import Health


class AsyncShopClient(BaseClient):
    """A typed async client for a shopkit API.

    ::

        async with AsyncShopClient(base_url="http://localhost:8000/api") as shop:
            await shop.auth.login(email=..., password=...)
            page = await shop.products.list(category="Electronics", sort="price_asc")

    ``base_url`` is the API root: ``http://host:8000/api`` for ``shopkit serve`` or the
    gateway. Without it: ``http_client``'s own ``base_url``, then ``$SHOPKIT_BASE_URL``, then
    ``http://localhost:8000/api``. ``access_token`` defaults to ``$SHOPKIT_ACCESS_TOKEN``.
    ``on_tokens`` (sync or async) receives every new token pair (login, register, refresh,
    password change): persist them there. An ``http_client`` you pass is yours to close.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        on_tokens: TokenCallback | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        resolved = (
            base_url
            or (str(http_client.base_url) if http_client and str(http_client.base_url) else None)
            or os.environ.get(ENV_BASE_URL)
            or DEFAULT_BASE_URL
        )
        super().__init__(
            base_url=resolved,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client or httpx.AsyncClient(),
            owns_http_client=http_client is None,
            default_headers=default_headers or {},
            tokens=TokenState(
                access_token or os.environ.get(ENV_ACCESS_TOKEN) or None, refresh_token, on_tokens
            ),
        )

    @cached_property
    def auth(self) -> AsyncAuth:
        return AsyncAuth(self)

    @cached_property
    def addresses(self) -> AsyncAddresses:
        return AsyncAddresses(self)

    @cached_property
    def users(self) -> AsyncUsers:
        return AsyncUsers(self)

    @cached_property
    def products(self) -> AsyncProducts:
        return AsyncProducts(self)

    @cached_property
    def categories(self) -> AsyncCategories:
        return AsyncCategories(self)

    @cached_property
    def cart(self) -> AsyncCart:
        return AsyncCart(self)

    @cached_property
    def orders(self) -> AsyncOrders:
        return AsyncOrders(self)

    @cached_property
    def payments(self) -> AsyncPayments:
        return AsyncPayments(self)

    @cached_property
    def webhooks(self) -> AsyncWebhooks:
        return AsyncWebhooks(self)

    async def health(self) -> Health:
        """The service's health. A degraded service (503) is reported, not raised."""
        try:
            response = await self.with_options(max_retries=0).request(
                "GET", "/health", authenticated=False
            )
        except ServiceUnavailableError as exc:
            if isinstance(exc.body, dict) and "status" in exc.body:
                return self.parse(Health, exc.response)
            raise
        return self.parse(Health, response)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> AsyncShopClient:
        """A client for some calls with other settings, sharing this one's connections and
        tokens::

            await shop.with_options(max_retries=5, timeout=60).orders.create(...)
        """
        copy = object.__new__(AsyncShopClient)
        BaseClient.__init__(
            copy,
            base_url=self.base_url,
            timeout=self.timeout if isinstance(timeout, NotGiven) else timeout,
            max_retries=self.max_retries if isinstance(max_retries, NotGiven) else max_retries,
            http_client=self._http,
            owns_http_client=False,
            default_headers=self._default_headers,
            tokens=self._tokens,
        )
        return copy

    async def __aenter__(self) -> AsyncShopClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:  # never the tokens
        state = "authenticated" if self.access_token or self.refresh_token else "anonymous"
        return f"<AsyncShopClient {self.base_url} {state}>"
