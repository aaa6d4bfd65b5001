"""Admin management of webhook endpoints (no HTTP, no driver)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import replace

from shopkit_server.clock import utc_now
from shopkit_server.pagination import PageParams, PageResult
from shopkit_server.webhooks.errors import (
    DeliveryNotFound,
    TooManyWebhooks,
    UnknownEventType,
    WebhookNotFound,
)
from shopkit_server.webhooks.models import ALL_EVENTS, EVENT_TYPES, Delivery, Endpoint
from shopkit_server.webhooks.repository import WebhookRepository
from shopkit_server.webhooks.urls import check_url

MAX_ENDPOINTS = 50


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _event_types(values: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(values))
    unknown = [v for v in chosen if v != ALL_EVENTS and v not in EVENT_TYPES]
    if unknown or not chosen:
        raise UnknownEventType(
            f"Unknown event types: {', '.join(unknown) or '(none given)'}; use any of "
            f"{', '.join(EVENT_TYPES)} or {ALL_EVENTS!r}."
        )
    return chosen


class WebhookService:
    def __init__(self, repo: WebhookRepository, *, allow_private: bool) -> None:
        self.repo = repo
        self.allow_private = allow_private

    async def create(self, url: str, event_types: Sequence[str], active: bool) -> Endpoint:
        types = _event_types(event_types)
        await check_url(url, allow_private=self.allow_private)
        if len(await self.repo.endpoints()) >= MAX_ENDPOINTS:
            raise TooManyWebhooks()
        now = utc_now()
        endpoint = Endpoint(
            id="wh_" + uuid.uuid4().hex,
            url=url,
            secret=new_secret(),
            event_types=types,
            active=active,
            created_at=now,
            updated_at=now,
        )
        await self.repo.add(endpoint)
        return endpoint

    async def get(self, endpoint_id: str) -> Endpoint:
        endpoint = await self.repo.get(endpoint_id)
        if endpoint is None:
            raise WebhookNotFound()
        return endpoint

    async def endpoints(self) -> list[Endpoint]:
        return await self.repo.endpoints()

    async def update(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        active: bool | None = None,
    ) -> Endpoint:
        endpoint = await self.get(endpoint_id)
        if url is not None:
            await check_url(url, allow_private=self.allow_private)
        changed = replace(
            endpoint,
            url=url if url is not None else endpoint.url,
            event_types=_event_types(event_types)
            if event_types is not None
            else endpoint.event_types,
            active=active if active is not None else endpoint.active,
            updated_at=utc_now(),
        )
        if not await self.repo.update(changed):
            raise WebhookNotFound()
        return changed

    async def delete(self, endpoint_id: str) -> None:
        if not await self.repo.delete(endpoint_id):
            raise WebhookNotFound()

    async def deliveries(self, endpoint_id: str, page: PageParams) -> PageResult[Delivery]:
        await self.get(endpoint_id)
        return await self.repo.deliveries(endpoint_id, offset=page.offset, limit=page.page_size)

    async def replay(self, endpoint_id: str, delivery_id: str) -> Delivery:
        await self.get(endpoint_id)
        delivery = await self.repo.replay(endpoint_id, delivery_id, utc_now())
        if delivery is None:
            raise DeliveryNotFound()
        return delivery
