"""Verify shopkit's webhooks in a receiver (no server dependencies; pure standard library).

shopkit signs each delivery as Stripe does, so this is the same check Stripe's libraries
make::

    import shopkit.webhooks

    event = shopkit.webhooks.verify(
        request.body,                              # the raw bytes, before any JSON parsing
        request.headers["Shopkit-Signature"],
        secret="whsec_...",                        # shown once when the endpoint was created
    )
    # event: {"id": "evt_...", "type": "order.paid", "created_at": "...", "data": {...}}

The header is ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``; a delivery
older than ``tolerance`` seconds is refused (a replayed capture). Deliveries are at least once:
use ``event["id"]`` (also the ``Shopkit-Event-Id`` header) to ignore one you have handled.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from shopkit._exceptions import ShopkitError

__all__ = ["DEFAULT_TOLERANCE", "WebhookVerificationError", "sign", "verify"]

DEFAULT_TOLERANCE = 300


class WebhookVerificationError(ShopkitError):
    """The payload does not carry a valid, recent shopkit signature."""


def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The ``Shopkit-Signature`` header for ``payload`` (what the server sends; for tests)."""
    body = payload.encode() if isinstance(payload, str) else payload
    at = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256)
    return f"t={at},v1={mac.hexdigest()}"


def verify(
    payload: bytes | str,
    header: str | None,
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> dict[str, Any]:
    """Check the signature and age of a delivery and return its event (the parsed JSON).

    Raises :class:`WebhookVerificationError` when the header is missing or malformed, no
    ``v1`` signature matches, the timestamp is more than ``tolerance`` seconds away from now
    (``tolerance <= 0`` skips the age check), or the body is not a JSON object.
    """
    body = payload.encode() if isinstance(payload, str) else payload
    if not header:
        raise WebhookVerificationError("no Shopkit-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookVerificationError(
                    "the signature's timestamp is not a number"
                ) from None
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookVerificationError("the signature header has no t= or no v1=")
    expected = sign(body, secret, timestamp).partition(",v1=")[2]
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise WebhookVerificationError("no signature matches the payload and secret")
    current = time.time() if now is None else now
    if tolerance > 0 and abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("the signature is too old (or from the future)")
    try:
        event = json.loads(body)
    except ValueError:
        raise WebhookVerificationError("the payload is not JSON") from None
    if not isinstance(event, dict):
        raise WebhookVerificationError("the payload is not a JSON object")
    return event
