"""Stripe's signing scheme, used for shopkit's own webhooks (receivers can reuse known code):
``Shopkit-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``.

One implementation: the SDK's (``shopkit.webhooks``, standard library only), so what the server
signs is by construction what receivers verify.
"""

from __future__ import annotations

from shopkit.webhooks import sign

__all__ = ["sign"]
