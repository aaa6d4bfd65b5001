"""Errors of the cart service."""

from __future__ import annotations

from shopkit_server.cart.models import MAX_LINE_QUANTITY
from shopkit_server.errors import Conflict, NotFound


class CartItemNotFound(NotFound):
    code = "cart_item_not_found"
    detail = "That product is not in your cart."


class LineQuantityLimit(Conflict):
    code = "quantity_limit_exceeded"
    detail = f"A cart line holds at most {MAX_LINE_QUANTITY} units."
