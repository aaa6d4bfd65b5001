"""HTTP routes of the cart service: parse, authenticate, call the service, shape the reply."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from shopkit_server.cart.errors import (
    CartItemNotFound,
    CartLineLimit,
    LineQuantityLimit,
)
from shopkit_server.cart.schemas import (
    AddItemRequest,
    CartOut,
    SetQuantityRequest,
)
from shopkit_server.deps import ActiveUser, Context, CurrentUser
from shopkit_server.errors import UpstreamUnavailable, raises
from shopkit_server.products.errors import (
    InsufficientStock,
    ProductNotFound,
    VariantNotFound,
    VariantRequired,
)
from shopkit_server.routing import ShopRoute

router = APIRouter(prefix="/cart", tags=["cart"], route_class=ShopRoute)


@router.get("", response_model=CartOut)
@raises(UpstreamUnavailable)
async def get_cart(ctx: Context, user: CurrentUser) -> CartOut:
    """Your cart, at current catalog prices (empty when you have none yet).

    Names, prices and images are refreshed from the catalog on every read, so the cart shows
    what checkout will charge. A line whose product was retired, or has fewer units in stock
    than the line holds, stays in the cart with `available: false`.
    """
    return CartOut.of(await ctx.cart.get_cart(user.id))


@router.post("/items", response_model=CartOut)
@raises(
    ProductNotFound,
    VariantNotFound,
    VariantRequired,
    InsufficientStock,
    LineQuantityLimit,
    CartLineLimit,
    UpstreamUnavailable,
)
async def add_cart_item(body: AddItemRequest, ctx: Context, user: ActiveUser) -> CartOut:
    """Add units of a product, on top of any already in the cart."""
    return CartOut.of(
        await ctx.cart.add_item(user.id, body.product_id, body.quantity, body.variant_id)
    )


@router.patch("/items/{item_id}", response_model=CartOut)
@raises(CartItemNotFound, ProductNotFound, VariantNotFound, InsufficientStock, UpstreamUnavailable)
async def set_cart_item_quantity(
    item_id: str, body: SetQuantityRequest, ctx: Context, user: ActiveUser
) -> CartOut:
    """Set the quantity of a line already in the cart; 0 removes it. ``item_id`` is the
    line's variant id (a single-variant product's id works too)."""
    return CartOut.of(await ctx.cart.set_quantity(user.id, item_id, body.quantity))


@router.delete("/items/{item_id}", response_model=CartOut)
@raises(UpstreamUnavailable)
async def remove_cart_item(item_id: str, ctx: Context, user: ActiveUser) -> CartOut:
    """Remove a line by its variant id (or a single-variant product's id); removing one that
    is not there is fine."""
    return CartOut.of(await ctx.cart.remove_item(user.id, item_id))


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def clear_cart(ctx: Context, user: ActiveUser) -> Response:
    """Empty the cart."""
    await ctx.cart.clear(user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
