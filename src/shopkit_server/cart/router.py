"""HTTP routes of the cart service: parse, authenticate, call the service, shape the reply."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from shopkit_server.cart.schemas import (
    AddItemRequest,
    CartOut,
    FinishCheckoutRequest,
    SetQuantityRequest,
)
from shopkit_server.deps import ActiveUser, Context, CurrentUser
from shopkit_server.errors import NotFound
from shopkit_server.ids import is_valid_id
from shopkit_server.products.models import StockLine
from shopkit_server.routing import ShopRoute

router = APIRouter(prefix="/cart", tags=["cart"], route_class=ShopRoute)


@router.get("", response_model=CartOut)
async def get_cart(ctx: Context, user: CurrentUser) -> CartOut:
    """Your cart, at current catalog prices (empty when you have none yet).

    Names, prices and images are refreshed from the catalog on every read, so the cart shows
    what checkout will charge. A line whose product was retired, or has fewer units in stock
    than the line holds, stays in the cart with `available: false`.
    """
    return CartOut.of(await ctx.cart.get_cart(user.id))


@router.post("/items", response_model=CartOut)
async def add_item(body: AddItemRequest, ctx: Context, user: ActiveUser) -> CartOut:
    """Add units of a product, on top of any already in the cart."""
    return CartOut.of(await ctx.cart.add_item(user.id, body.product_id, body.quantity))


@router.patch("/items/{product_id}", response_model=CartOut)
async def set_quantity(
    product_id: str, body: SetQuantityRequest, ctx: Context, user: ActiveUser
) -> CartOut:
    """Set the quantity of a line already in the cart; 0 removes it."""
    return CartOut.of(await ctx.cart.set_quantity(user.id, product_id, body.quantity))


@router.delete("/items/{product_id}", response_model=CartOut)
async def remove_item(product_id: str, ctx: Context, user: ActiveUser) -> CartOut:
    """Remove a line (removing one that is not there is fine)."""
    return CartOut.of(await ctx.cart.remove_item(user.id, product_id))


# The order service's calls (with the user's own token), not an app's: a checkout claims the
# cart (one order per cart snapshot), then finishes the claim or releases it.
def _checkout_id(checkout_id: str) -> str:
    if not is_valid_id(checkout_id):
        raise NotFound()
    return checkout_id


@router.post("/checkouts/{checkout_id}", response_model=CartOut, include_in_schema=False)
async def claim_checkout(checkout_id: str, ctx: Context, user: CurrentUser) -> CartOut:
    """Claim the cart for checkout ``checkout_id``; the cart as stored (409 while another
    checkout holds it)."""
    return CartOut.of(await ctx.cart.claim_checkout(user.id, _checkout_id(checkout_id)))


@router.post(
    "/checkouts/{checkout_id}/finish",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    include_in_schema=False,
)
async def finish_checkout(
    checkout_id: str, body: FinishCheckoutRequest, ctx: Context, user: CurrentUser
) -> Response:
    """Subtract the order's quantities from the cart and drop the claim (idempotent)."""
    lines = [StockLine(product_id=i.product_id, quantity=i.quantity) for i in body.items]
    await ctx.cart.finish_checkout(user.id, _checkout_id(checkout_id), lines)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/checkouts/{checkout_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    include_in_schema=False,
)
async def release_checkout(checkout_id: str, ctx: Context, user: CurrentUser) -> Response:
    """Drop the claim of a checkout that made no order (idempotent)."""
    await ctx.cart.release_checkout(user.id, _checkout_id(checkout_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def clear_cart(ctx: Context, user: ActiveUser) -> Response:
    """Empty the cart."""
    await ctx.cart.clear(user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
