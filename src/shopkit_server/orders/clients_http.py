"""The cart and the catalog's stock over HTTP, for an order service running apart from them.

Each peer answer is mapped back to the error the in-process client would raise
(``InsufficientStock`` with its product ids, ``ReservationReleased`` ...); anything the order
service cannot map is ``UpstreamUnavailable`` (503), never a 500 and never the peer's body.
Every call here is safe to retry: the cart calls are keyed by the checkout id and the stock
calls by the reservation id (both the order id), which the peers apply at most once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import structlog
from pydantic import BaseModel, ValidationError

from shopkit_server.cart.clients_http import product_from_wire
from shopkit_server.cart.errors import CheckoutInProgress
from shopkit_server.cart.models import Cart, CartItem
from shopkit_server.deps import Principal
from shopkit_server.errors import ShopError
from shopkit_server.money import quantize
from shopkit_server.products.errors import (
    InsufficientStock,
    ReservationMismatch,
    ReservationPending,
    ReservationReleased,
)
from shopkit_server.products.models import Product, StockLine
from shopkit_server.upstream import PeerReply, ServiceToken, Upstream

log = structlog.get_logger("shopkit.orders.clients")

# A retried reserve can reach the product service while its first attempt is still being
# written there ("reservation_pending"): wait a little for it rather than fail the checkout.
PENDING_RETRIES = 5
PENDING_PAUSE = 0.1

_RESERVATION_ERRORS: dict[str, type[ShopError]] = {
    "reservation_released": ReservationReleased,
    "reservation_mismatch": ReservationMismatch,
    "reservation_pending": ReservationPending,
}


class _CartItemWire(BaseModel):
    product_id: str
    variant_id: str | None = None
    name: str
    price: Decimal
    quantity: int
    image_url: str | None = None
    available: bool = True


class _CartWire(BaseModel):
    items: list[_CartItemWire]
    updated_at: datetime | None = None


class HttpCartClient:
    """The checkout claim on the user's cart, on the cart service's ``/internal`` routes (a
    service token; the user was checked here, live, before checkout began)."""

    def __init__(self, upstream: Upstream, token: ServiceToken) -> None:
        self._upstream = upstream
        self._token = token

    @staticmethod
    def _path(user: Principal, checkout_id: str) -> str:
        return f"/internal/carts/{user.id}/checkouts/{checkout_id}"

    async def claim(self, user: Principal, checkout_id: str) -> Cart:
        reply = await self._upstream.request(
            "POST", self._path(user, checkout_id), idempotent=True, headers=self._token.header()
        )
        if reply.status_code == 409 and self._upstream.error_code(reply) == "checkout_in_progress":
            raise CheckoutInProgress()
        self._check(reply, 200)
        try:
            wire = _CartWire.model_validate(self._upstream.json(reply))
        except ValidationError:
            raise self._upstream.unexpected(reply) from None
        items = [
            CartItem(
                product_id=item.product_id,
                variant_id=item.variant_id,
                name=item.name,
                price=quantize(item.price),
                quantity=item.quantity,
                image_url=item.image_url,
                available=item.available,
            )
            for item in wire.items
        ]
        return Cart(items=items, updated_at=wire.updated_at)

    async def finish(self, user: Principal, checkout_id: str, lines: Sequence[StockLine]) -> None:
        # Retried safely: the cart subtracts only while this checkout holds the claim.
        body = {
            "items": [
                {"product_id": x.product_id, "variant_id": x.variant_id, "quantity": x.quantity}
                for x in lines
            ]
        }
        reply = await self._upstream.request(
            "POST",
            f"{self._path(user, checkout_id)}/finish",
            idempotent=True,
            json=body,
            headers=self._token.header(),
        )
        self._check(reply, 204)

    async def release(self, user: Principal, checkout_id: str) -> None:
        reply = await self._upstream.request(
            "DELETE", self._path(user, checkout_id), idempotent=True, headers=self._token.header()
        )
        self._check(reply, 204)

    def _check(self, reply: PeerReply, expected: int) -> None:
        if reply.status_code != expected:
            raise self._upstream.unexpected(reply)


class HttpStockClient:
    """Reserves and releases stock on the product service's ``/internal`` routes."""

    def __init__(self, upstream: Upstream, token: ServiceToken) -> None:
        self._upstream = upstream
        self._token = token

    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> None:
        await self._reserve(reservation_id, lines, read_products=False)

    async def reserve_and_read(
        self, reservation_id: str, lines: Sequence[StockLine]
    ) -> tuple[bool, dict[str, Product]]:
        reply = await self._reserve(reservation_id, lines, read_products=True)
        body = self._upstream.json(reply)
        if not isinstance(body, dict) or not isinstance(body.get("reserved"), bool):
            raise self._upstream.unexpected(reply)
        raw = body.get("items")
        if not isinstance(raw, list):
            raise self._upstream.unexpected(reply)
        products = [product_from_wire(self._upstream, reply, item) for item in raw]
        return body["reserved"], {product.id: product for product in products}

    async def _reserve(
        self, reservation_id: str, lines: Sequence[StockLine], *, read_products: bool
    ) -> PeerReply:
        body: dict[str, object] = {
            "reservation_id": reservation_id,
            "lines": [
                {"product_id": ln.product_id, "variant_id": ln.variant_id, "quantity": ln.quantity}
                for ln in lines
            ],
        }
        if read_products:
            body["read_products"] = True
        for attempt in range(PENDING_RETRIES + 1):
            reply = await self._upstream.request(
                "POST",
                "/internal/stock/reservations",
                idempotent=True,
                json=body,
                headers=self._token.header(),
            )
            if reply.status_code == (200 if read_products else 204):
                return reply
            code = self._upstream.error_code(reply) if reply.status_code == 409 else None
            if code == "reservation_pending" and attempt < PENDING_RETRIES:
                await asyncio.sleep(PENDING_PAUSE)
                continue
            raise self._reserve_error(reply, code)
        raise AssertionError("unreachable")

    def _reserve_error(self, reply: PeerReply, code: str | None) -> ShopError:
        if code == "insufficient_stock":
            body = self._upstream.json(reply)
            ids = body.get("product_ids") if isinstance(body, dict) else None
            if isinstance(ids, list) and all(isinstance(pid, str) for pid in ids):
                return InsufficientStock(ids)
        elif code in _RESERVATION_ERRORS:
            return _RESERVATION_ERRORS[code]()
        return self._upstream.unexpected(reply)

    async def release(self, reservation_id: str) -> None:
        reply = await self._upstream.request(
            "POST",
            f"/internal/stock/reservations/{reservation_id}/release",
            idempotent=True,
            headers=self._token.header(),
        )
        if reply.status_code != 204:
            raise self._upstream.unexpected(reply)
