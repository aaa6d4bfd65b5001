"""Errors of webhooks."""

from __future__ import annotations

from shopkit_server.errors import BadRequest, Conflict, NotFound


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    detail = "Webhook endpoint not found."


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    detail = "Delivery not found."


class WebhookUrlRefused(BadRequest):
    code = "webhook_url_refused"
    detail = "The URL must be http(s) and resolve to public addresses only."


class UnknownEventType(BadRequest):
    code = "unknown_event_type"
    detail = "Unknown event type."


class TooManyWebhooks(Conflict):
    code = "too_many_webhooks"
    detail = "This shop has the most webhook endpoints it may have; delete one first."
