"""HTTP routes of the cart service: parse, authenticate, call the service, shape the reply.

A cart belongs to an account (``Authorization: Bearer``) or to a guest (``X-Cart-Token``,
the secret the first guest add answered with). A bearer token wins when both are sent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Response, status

from shopkit_server.cart.errors import (
    CartItemNotFound,
    CartLineLimit,
    CartTokenInvalid,
    LineQuantityLimit,
)
from shopkit_server.cart.schemas import (
    AddItemRequest,
    CartOut,
    SetQuantityRequest,
)
from shopkit_server.deps import Context, OptionalActiveUser
from shopkit_server.errors import NotAuthenticated, TooManyRequests, UpstreamUnavailable, raises
from shopkit_server.products.errors import (
    InsufficientStock,
    ProductNotFound,
    VariantNotFound,
    VariantRequired,
)
from shopkit_server.products.models import Product
from shopkit_server.routing import ShopRouter

router = ShopRouter(prefix="/cart", tags=["cart"])

CART_TOKEN_HEADER = "X-Cart-Token"  # noqa: S105 - a header name
CartToken = Annotated[
    str | None,
    Header(
        alias=CART_TOKEN_HEADER,
        max_length=200,
        description="A guest cart's token (without an access token)",
    ),
]


@raises(CartTokenInvalid, NotAuthenticated)
async def _owner(ctx: Context, user: OptionalActiveUser, cart_token: CartToken = None) -> str:
    """Whose cart a call is about: the caller's account (checked live), or the guest cart
    of the token."""
    if user is not None:
        return user.id
    if cart_token:
        return await ctx.cart.guest_owner(cart_token)
    raise NotAuthenticated("Send an access token or an X-Cart-Token.")


Owner = Annotated[str, Depends(_owner)]


@router.get("", response_model=CartOut)
@raises(UpstreamUnavailable)
async def get_cart(ctx: Context, owner: Owner) -> CartOut:
    """Your cart, at current catalog prices (empty when you have none yet).

    Names, prices and images are refreshed from the catalog on every read, so the cart shows
    what checkout will charge. A line whose product was retired, or has fewer units in stock
    than the line holds, stays in the cart with `available: false`.
    """
    return CartOut.of(await ctx.cart.get_cart(owner))


@router.post("/items", response_model=CartOut)
@raises(
    ProductNotFound,
    VariantNotFound,
    VariantRequired,
    InsufficientStock,
    LineQuantityLimit,
    CartLineLimit,
    CartTokenInvalid,
    TooManyRequests,
    UpstreamUnavailable,
)
async def add_cart_item(
    body: AddItemRequest,
    ctx: Context,
    request: Request,
    response: Response,
    user: OptionalActiveUser,
    cart_token: CartToken = None,
) -> CartOut:
    """Add units of one variant of a product, on top of any already in the cart.

    Without an access token or an `X-Cart-Token` this opens a guest cart: its token comes
    back in the `X-Cart-Token` header and as `cart_token` (throttled per address: 429).
    """
    new_token: str | None = None
    product: Product | None = None
    if user is not None:
        owner = user.id
    elif cart_token:
        owner = await ctx.cart.guest_owner(cart_token)
    else:
        # Checked before the guest cart is opened, so a bad add opens nothing.
        product = await ctx.cart.check_addable(body.product_id, body.variant_id)
        new_token, guest = await ctx.cart.open_guest_cart(ctx.client_of(request))
        owner = guest.id
        response.headers[CART_TOKEN_HEADER] = new_token
    cart = await ctx.cart.add_item(
        owner, body.product_id, body.quantity, body.variant_id, product=product
    )
    return CartOut.of(cart, cart_token=new_token)


@router.patch("/items/{item_id}", response_model=CartOut)
@raises(CartItemNotFound, ProductNotFound, VariantNotFound, InsufficientStock, UpstreamUnavailable)
async def set_cart_item_quantity(
    item_id: str, body: SetQuantityRequest, ctx: Context, owner: Owner
) -> CartOut:
    """Set the quantity of a line already in the cart; 0 removes it. ``item_id`` is the
    line's variant id (a single-variant product's id works too)."""
    return CartOut.of(await ctx.cart.set_quantity(owner, item_id, body.quantity))


@router.delete("/items/{item_id}", response_model=CartOut)
@raises(UpstreamUnavailable)
async def remove_cart_item(item_id: str, ctx: Context, owner: Owner) -> CartOut:
    """Remove a line by its variant id (or a single-variant product's id); removing one that
    is not there is fine."""
    return CartOut.of(await ctx.cart.remove_item(owner, item_id))


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def clear_cart(ctx: Context, owner: Owner) -> Response:
    """Empty the cart."""
    await ctx.cart.clear(owner)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
