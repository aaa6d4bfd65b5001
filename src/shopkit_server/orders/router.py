"""HTTP routes of the orders service: parse, authenticate, call the service, shape the reply."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Header, Query, Response, status

from shopkit_server.auth.errors import AddressNotFound
from shopkit_server.cart.errors import CartLineLimit, CheckoutInProgress
from shopkit_server.deps import ActiveUser, AdminUser, Context, CurrentUser
from shopkit_server.errors import AdminOnly, UpstreamUnavailable, raises
from shopkit_server.fields import QueryFlag
from shopkit_server.orders.errors import (
    CartEmpty,
    EmailNotVerified,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    InvalidTransition,
    OrderNotFound,
)
from shopkit_server.orders.models import OrderStatus
from shopkit_server.orders.schemas import (
    CheckoutOut,
    CheckoutRequest,
    OrderOut,
    StatusChangeRequest,
)
from shopkit_server.pagination import CursorPageQuery, Page, PageResult
from shopkit_server.payments.errors import PaymentMethodUnavailable
from shopkit_server.products.errors import InsufficientStock, ProductNotFound
from shopkit_server.routing import ShopRouter, json_reply

router = ShopRouter(prefix="/orders", tags=["orders"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID is ideal). Repeating a checkout with the same key "
        "returns the first order instead of placing another; keys are kept for 24 hours.",
    ),
]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CheckoutOut)
@raises(
    PaymentMethodUnavailable,
    CartEmpty,
    CartLineLimit,
    CheckoutInProgress,
    ProductNotFound,
    InsufficientStock,
    IdempotencyKeyReused,
    IdempotencyKeyInProgress,
    EmailNotVerified,
    AddressNotFound,
    UpstreamUnavailable,
)
async def checkout(
    body: CheckoutRequest,
    ctx: Context,
    user: ActiveUser,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Place an order from your cart at current prices; the cart is emptied.

    Every product is re-read at checkout: the order freezes the catalog's current names and
    prices, and stock is reserved for every line or for none (409 `insufficient_stock` names
    the short products). With an `Idempotency-Key`, a repeat of the same request returns the
    first order (header `Idempotent-Replayed: true`), also while the first is still running;
    the same key with a different body is 409 `idempotency_key_reused`. Only a placed order
    is remembered under a key: a checkout that failed (empty cart, no stock) leaves the key
    free, so the client can fix the cause and retry with it.

    Ship to `shipping_address`, or to a saved address by `address_id` (its fields are copied
    into the order). With `SHOPKIT_REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT` an unverified account
    is refused (403 `email_not_verified`). Guests cannot check out yet: log in or register
    with the cart token first.
    `payment_method` is `manual` unless given; with `stripe` the reply carries the
    PaymentIntent's `client_secret` (one intent per order, however often this is retried).
    """
    address = body.shipping_address.to_domain() if body.shipping_address else None
    result = await ctx.orders.checkout(
        user, address, idempotency_key, body.payment_method, address_id=body.address_id
    )
    order, intent = result.order, result.intent
    if intent is not None:
        order = replace(order, payment_intent_id=intent.id)
    return json_reply(
        CheckoutOut.of_checkout(order, intent.client_secret if intent else None),
        status_code=status.HTTP_201_CREATED,
        headers={"Idempotent-Replayed": "true"} if result.replayed else None,
    )


@router.get("", response_model=Page[OrderOut])
@raises(AdminOnly)
async def list_orders(
    ctx: Context,
    user: CurrentUser,
    raw_page: CursorPageQuery,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    all_: Annotated[QueryFlag, Query(alias="all", description="admins: everyone's orders")] = False,
) -> Page[OrderOut]:
    """Your orders, newest first (admins: ``?all=true`` for everyone's), by page number or by
    cursor (``next_cursor``)."""
    page = raw_page.resolve("orders", "newest")
    result = await ctx.orders.list_orders(user, page, status=status_, everyone=all_)
    items = [OrderOut.of(order) for order in result.items]
    return Page[OrderOut].of(
        PageResult(items, result.total, result.next_key), page, "orders", "newest"
    )


@router.get("/{order_id}", response_model=OrderOut)
@raises(OrderNotFound)
async def get_order(order_id: str, ctx: Context, user: CurrentUser) -> OrderOut:
    """One of your orders (admins: any order)."""
    return OrderOut.of(await ctx.orders.get_order(user, order_id))


@router.patch("/{order_id}/status", response_model=OrderOut)
@raises(OrderNotFound, InvalidTransition, UpstreamUnavailable)
async def change_order_status(
    order_id: str, body: StatusChangeRequest, ctx: Context, admin: AdminUser
) -> OrderOut:
    """Move an order along its status flow (admins only)."""
    return OrderOut.of(await ctx.orders.change_status(order_id, body.status))


@router.post("/{order_id}/cancel", response_model=OrderOut)
@raises(OrderNotFound, InvalidTransition, UpstreamUnavailable)
async def cancel_order(order_id: str, ctx: Context, user: ActiveUser) -> OrderOut:
    """Cancel a pending or confirmed order; its stock goes back to the catalog."""
    return OrderOut.of(await ctx.orders.cancel(user, order_id))
