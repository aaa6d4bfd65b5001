"""HTTP routes of webhooks (admins only): endpoints, their delivery log, replays."""

from __future__ import annotations

from fastapi import Response, status

from shopkit_server.deps import AdminUser, Context
from shopkit_server.errors import raises
from shopkit_server.pagination import Page, PageQuery
from shopkit_server.routing import ShopRouter
from shopkit_server.webhooks.errors import (
    DeliveryNotFound,
    TooManyWebhooks,
    UnknownEventType,
    WebhookNotFound,
    WebhookUrlRefused,
)
from shopkit_server.webhooks.schemas import (
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookUpdate,
)

router = ShopRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
@raises(WebhookUrlRefused, UnknownEventType, TooManyWebhooks)
async def create_webhook(body: WebhookCreate, ctx: Context, admin: AdminUser) -> WebhookCreated:
    """Register an endpoint. The reply carries its signing `secret`, shown only this once."""
    endpoint = await ctx.webhooks.create(body.url, body.event_types, body.active)
    return WebhookCreated.created(endpoint)


@router.get("", response_model=list[WebhookOut])
async def list_webhooks(ctx: Context, admin: AdminUser) -> list[WebhookOut]:
    """Every endpoint, oldest first (without secrets)."""
    return [WebhookOut.of(endpoint) for endpoint in await ctx.webhooks.endpoints()]


@router.get("/{webhook_id}", response_model=WebhookOut)
@raises(WebhookNotFound)
async def get_webhook(webhook_id: str, ctx: Context, admin: AdminUser) -> WebhookOut:
    """One endpoint."""
    return WebhookOut.of(await ctx.webhooks.get(webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookOut)
@raises(WebhookNotFound, WebhookUrlRefused, UnknownEventType)
async def update_webhook(
    webhook_id: str, body: WebhookUpdate, ctx: Context, admin: AdminUser
) -> WebhookOut:
    """Change an endpoint's URL, event types or `active`."""
    endpoint = await ctx.webhooks.update(
        webhook_id, url=body.url, event_types=body.event_types, active=body.active
    )
    return WebhookOut.of(endpoint)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
@raises(WebhookNotFound)
async def delete_webhook(webhook_id: str, ctx: Context, admin: AdminUser) -> Response:
    """Delete an endpoint and its delivery log."""
    await ctx.webhooks.delete(webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryOut])
@raises(WebhookNotFound)
async def list_webhook_deliveries(
    webhook_id: str, ctx: Context, admin: AdminUser, page: PageQuery
) -> Page[DeliveryOut]:
    """The endpoint's delivery log, newest event first."""
    result = await ctx.webhooks.deliveries(webhook_id, page)
    return Page.build([DeliveryOut.of(d) for d in result.items], result.total, page)


@router.post("/{webhook_id}/deliveries/{delivery_id}/replay", response_model=DeliveryOut)
@raises(WebhookNotFound, DeliveryNotFound)
async def replay_webhook_delivery(
    webhook_id: str, delivery_id: str, ctx: Context, admin: AdminUser
) -> DeliveryOut:
    """Send a delivery again (it becomes pending and due now), whatever its state."""
    return DeliveryOut.of(await ctx.webhooks.replay(webhook_id, delivery_id))
