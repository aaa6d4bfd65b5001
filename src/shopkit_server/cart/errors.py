"""Errors of the cart service."""

from __future__ import annotations

from shopkit_server.cart.models import MAX_CART_LINES, MAX_LINE_QUANTITY
from shopkit_server.errors import Conflict, NotFound


class CartItemNotFound(NotFound):
    code = "cart_item_not_found"
    detail = "That product is not in your cart."


class LineQuantityLimit(Conflict):
    code = "quantity_limit_exceeded"
    detail = f"A cart line holds at most {MAX_LINE_QUANTITY} units."


class CartLineLimit(Conflict):
    code = "cart_line_limit"
    detail = (
        f"A cart holds at most {MAX_CART_LINES} different products; check out or remove some first."
    )


class CheckoutInProgress(Conflict):
    code = "checkout_in_progress"
    detail = "This cart is being checked out by another request; see your orders."


class CartTokenInvalid(NotFound):
    code = "cart_token_invalid"
    detail = "The cart token is unknown, expired or already merged into an account's cart."
