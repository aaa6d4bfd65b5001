"""Webhook endpoints and their deliveries (``/webhooks``, admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shopkit.types._base import ShopkitModel


class Webhook(ShopkitModel):
    id: str
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(Webhook):
    """What ``webhooks.create`` returns: the signing ``secret`` is shown only this once."""

    secret: str


class WebhookEvent(ShopkitModel):
    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]


class WebhookDelivery(ShopkitModel):
    id: str
    webhook_id: str
    event: WebhookEvent
    state: str
    """``pending``, ``delivered`` or ``failed`` (given up; replay it)."""
    attempts: int
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    response_status: int | None = None
    last_error: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None
