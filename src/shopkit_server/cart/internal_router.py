"""Service-to-service routes of the cart service, under ``/internal`` (never ``/api``).

The auth service's guest-cart merge at login (``merge``), and the order service's checkout
claim on a user's cart, when it runs apart from the cart: claim
the cart for one checkout (one order per cart snapshot), then finish the claim or release it.
Only a peer service's token is accepted (``ServiceCaller``: a user's access token is a 401);
the order service has already checked the user (live) before it calls. The gateway never routes
``/internal/``, and the routes stay out of the public OpenAPI schema. Each is keyed by the
order id, so each is safe to retry.
"""

from __future__ import annotations

from fastapi import Response, status

from shopkit_server.cart.schemas import (
    CartMergeOut,
    CartOut,
    FinishCheckoutRequest,
    MergeCartRequest,
)
from shopkit_server.deps import Context, ServiceCaller
from shopkit_server.errors import NotFound
from shopkit_server.ids import is_valid_id
from shopkit_server.products.models import StockLine
from shopkit_server.routing import ShopRouter

router = ShopRouter(prefix="/internal/carts", tags=["internal"], include_in_schema=False)


def _ids(user_id: str, checkout_id: str) -> tuple[str, str]:
    if not (is_valid_id(user_id) and is_valid_id(checkout_id)):
        raise NotFound()
    return user_id, checkout_id


@router.post("/{user_id}/checkouts/{checkout_id}", response_model=CartOut)
async def claim_checkout(user_id: str, checkout_id: str, ctx: Context, _: ServiceCaller) -> CartOut:
    """Claim the user's cart for checkout ``checkout_id``; the cart as stored (409 while
    another checkout holds it)."""
    return CartOut.of(await ctx.cart.claim_checkout(*_ids(user_id, checkout_id)))


@router.post(
    "/{user_id}/checkouts/{checkout_id}/finish",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def finish_checkout(
    user_id: str, checkout_id: str, body: FinishCheckoutRequest, ctx: Context, _: ServiceCaller
) -> Response:
    """Subtract the order's quantities from the cart and drop the claim (idempotent)."""
    lines = [StockLine(i.product_id, i.quantity, i.variant_id) for i in body.items]
    await ctx.cart.finish_checkout(*_ids(user_id, checkout_id), lines)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/{user_id}/checkouts/{checkout_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def release_checkout(
    user_id: str, checkout_id: str, ctx: Context, _: ServiceCaller
) -> Response:
    """Drop the claim of a checkout that made no order (idempotent)."""
    await ctx.cart.release_checkout(*_ids(user_id, checkout_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{user_id}/merge", response_model=CartMergeOut)
async def merge_guest_cart(
    user_id: str, body: MergeCartRequest, ctx: Context, _: ServiceCaller
) -> CartMergeOut:
    """Merge the guest cart of ``cart_token`` into the user's cart (at most once per guest
    cart: a retry after success answers ``invalid``)."""
    if not is_valid_id(user_id):
        raise NotFound()
    return CartMergeOut.of(await ctx.cart.merge_guest_cart(user_id, body.cart_token))
