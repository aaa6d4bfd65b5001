"""Request and response bodies of webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from shopkit_server.webhooks.models import ALL_EVENTS, Delivery, DeliveryState, Endpoint
from shopkit_server.webhooks.urls import MAX_URL_LENGTH

_Url = Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)]
_Types = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(
        min_length=1,
        max_length=20,
        description="Event types to receive (order.placed, order.paid, order.status_changed, "
        'order.cancelled, order.refunded, product.out_of_stock), or ["*"] for all',
    ),
]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: _Url
    event_types: _Types = Field(default_factory=lambda: [ALL_EVENTS])
    active: bool = True


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: _Url | None = None
    event_types: _Types | None = None
    active: bool | None = None


class WebhookOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, endpoint: Endpoint) -> WebhookOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            event_types=list(endpoint.event_types),
            active=endpoint.active,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="Signs every delivery (Shopkit-Signature); shown only in this reply"
    )

    @classmethod
    def created(cls, endpoint: Endpoint) -> WebhookCreated:
        return cls(**WebhookOut.of(endpoint).model_dump(), secret=endpoint.secret)


class EventOut(BaseModel):
    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str
    event: EventOut
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None = Field(description="When it is tried next (pending only)")
    last_attempt_at: datetime | None
    response_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        event = delivery.event
        return cls(
            id=delivery.id,
            webhook_id=delivery.webhook_id,
            event=EventOut(
                id=event.id, type=event.type, created_at=event.created_at, data=event.data
            ),
            state=delivery.state,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at
            if delivery.state is DeliveryState.PENDING
            else None,
            last_attempt_at=delivery.last_attempt_at,
            response_status=delivery.response_status,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
        )
