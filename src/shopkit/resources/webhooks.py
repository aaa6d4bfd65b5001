"""``client.webhooks``: endpoints that receive the shop's events (admins)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from shopkit._pagination import AsyncPage
from shopkit._types import NOT_GIVEN, NotGiven, RequestOptions, strip_not_given
from shopkit.resources._resource import AsyncAPIResource, segment
from shopkit.types.webhooks import Webhook, WebhookDelivery, WebhookWithSecret


class AsyncWebhooks(AsyncAPIResource):
    async def create(
        self,
        *,
        url: str,
        event_types: Sequence[str] = ("*",),
        active: bool = True,
        **options: Unpack[RequestOptions],
    ) -> WebhookWithSecret:
        """Register an endpoint. Keep the returned ``secret``: it is shown only now, and
        ``shopkit.webhooks.verify`` needs it to check each delivery."""
        response = await self._client.request(
            "POST",
            "/webhooks",
            json={"url": url, "event_types": list(event_types), "active": active},
            options=options,
        )
        created: WebhookWithSecret = self._client.parse(WebhookWithSecret, response)
        return created

    async def list(self, **options: Unpack[RequestOptions]) -> list[Webhook]:
        """Every endpoint, oldest first."""
        response = await self._client.request("GET", "/webhooks", options=options)
        found: list[Webhook] = self._client.parse(list[Webhook], response)
        return found

    async def get(self, webhook_id: str, **options: Unpack[RequestOptions]) -> Webhook:
        response = await self._client.request(
            "GET", f"/webhooks/{segment(webhook_id)}", options=options
        )
        found: Webhook = self._client.parse(Webhook, response)
        return found

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        event_types: Sequence[str] | NotGiven = NOT_GIVEN,
        active: bool | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Webhook:
        """Change what is given; the rest stays."""
        types = event_types if isinstance(event_types, NotGiven) else list(event_types)
        body = strip_not_given({"url": url, "event_types": types, "active": active})
        response = await self._client.request(
            "PATCH", f"/webhooks/{segment(webhook_id)}", json=body, options=options
        )
        found: Webhook = self._client.parse(Webhook, response)
        return found

    async def delete(self, webhook_id: str, **options: Unpack[RequestOptions]) -> None:
        """Delete the endpoint and its delivery log."""
        await self._client.request("DELETE", f"/webhooks/{segment(webhook_id)}", options=options)

    async def deliveries(
        self,
        webhook_id: str,
        *,
        page: int = 1,
        page_size: int = 20,
        **options: Unpack[RequestOptions],
    ) -> AsyncPage[WebhookDelivery]:
        """The endpoint's delivery log, newest event first."""
        response = await self._client.request(
            "GET",
            f"/webhooks/{segment(webhook_id)}/deliveries",
            params={"page": page, "page_size": page_size},
            options=options,
        )
        result: AsyncPage[WebhookDelivery] = self._client.parse(
            AsyncPage[WebhookDelivery], response
        )
        result._fetch = lambda at: self.deliveries(
            webhook_id, page=int(at), page_size=page_size, **options
        )
        return result

    async def replay(
        self, webhook_id: str, delivery_id: str, **options: Unpack[RequestOptions]
    ) -> WebhookDelivery:
        """Send a delivery again (it becomes pending and due now)."""
        response = await self._client.request(
            "POST",
            f"/webhooks/{segment(webhook_id)}/deliveries/{segment(delivery_id)}/replay",
            options=options,
        )
        delivery: WebhookDelivery = self._client.parse(WebhookDelivery, response)
        return delivery
