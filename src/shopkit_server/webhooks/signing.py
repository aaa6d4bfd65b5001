"""Stripe's signing scheme, used for shopkit's own webhooks (receivers can reuse known code):
``Shopkit-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``."""

from __future__ import annotations

import hashlib
import hmac


def sign(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
