"""Stripe's HTTP API as respx answers it (no network), and webhooks signed as Stripe signs.

The fake keeps Stripe's rules that matter here: a repeated Idempotency-Key returns the first
response (so it makes no second PaymentIntent), amounts are integers in minor units, and
metadata arrives form-encoded (``metadata[order_id]=...``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import respx

API_BASE = "https://stripe.test"
SECRET_KEY = "sk_test_shopkit"
WEBHOOK_SECRET = "whsec_test_shopkit"


def stripe_signature(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """``Stripe-Signature`` exactly as Stripe computes it."""
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event_payload(kind: str, intent: dict[str, Any], event_id: str | None = None) -> bytes:
    body = {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2025-01-27.acacia",
        "data": {"object": intent},
    }
    return json.dumps(body).encode()


class FakeStripe:
    def __init__(self) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, httpx.Response] = {}
        self.create_calls = 0
        self.refunds: list[dict[str, str]] = []
        self.cancelled: list[str] = []
        # Runs inside "create", before Stripe answers (a webhook racing the checkout).
        self.on_create: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    def install(self, router: respx.MockRouter) -> None:
        router.post(f"{API_BASE}/v1/payment_intents").mock(side_effect=self._create)
        router.post(url__regex=rf"{API_BASE}/v1/payment_intents/(?P<pid>pi_\w+)/cancel").mock(
            side_effect=self._cancel
        )
        router.get(url__regex=rf"{API_BASE}/v1/payment_intents/(?P<pid>pi_\w+)$").mock(
            side_effect=self._retrieve
        )
        router.post(f"{API_BASE}/v1/refunds").mock(side_effect=self._refund)

    @staticmethod
    def _form(request: httpx.Request) -> dict[str, str]:
        return dict(parse_qsl(request.content.decode()))

    async def _create(self, request: httpx.Request) -> httpx.Response:
        self.create_calls += 1
        assert request.headers["authorization"] == f"Bearer {SECRET_KEY}"
        key = request.headers["idempotency-key"]
        if key in self.by_key:
            return self.by_key[key]
        form = self._form(request)
        pid = f"pi_{uuid.uuid4().hex[:24]}"
        intent = {
            "id": pid,
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "status": "requires_payment_method",
            "client_secret": f"{pid}_secret_{uuid.uuid4().hex[:12]}",
            "metadata": {"order_id": form["metadata[order_id]"]},
        }
        self.intents[pid] = intent
        if self.on_create is not None:
            await self.on_create(intent)
        response = httpx.Response(200, json=intent)
        self.by_key[key] = response
        return response

    async def _retrieve(self, request: httpx.Request, pid: str) -> httpx.Response:
        if pid not in self.intents:
            return httpx.Response(404, json={"error": {"type": "invalid_request_error"}})
        return httpx.Response(200, json=self.intents[pid])

    async def _cancel(self, request: httpx.Request, pid: str) -> httpx.Response:
        self.cancelled.append(pid)
        self.intents[pid]["status"] = "canceled"
        return httpx.Response(200, json=self.intents[pid])

    async def _refund(self, request: httpx.Request) -> httpx.Response:
        key = request.headers["idempotency-key"]
        form = self._form(request)
        if key not in {r["key"] for r in self.refunds}:
            self.refunds.append({"key": key, "payment_intent": form["payment_intent"]})
        return httpx.Response(
            200, json={"id": f"re_{key[-12:]}", "object": "refund", "status": "succeeded"}
        )

    def only_intent(self) -> dict[str, Any]:
        (intent,) = self.intents.values()
        return intent
