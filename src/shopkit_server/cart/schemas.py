"""Request and response bodies of the cart service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shopkit_server.cart.models import (
    MAX_CART_LINES,
    MAX_LINE_QUANTITY,
    Cart,
    CartMerge,
    MergeOutcome,
    Shortfall,
)
from shopkit_server.money import Money


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddItemRequest(_Strict):
    product_id: Annotated[str, Field(min_length=1, max_length=64)]
    variant_id: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=64,
            description="The variant; may be left out only for a product with one variant",
        ),
    ] = None
    quantity: Annotated[int, Field(ge=1, le=MAX_LINE_QUANTITY)] = 1


class SetQuantityRequest(_Strict):
    quantity: Annotated[int, Field(ge=0, le=MAX_LINE_QUANTITY, description="0 removes the line")]


class OrderedLine(_Strict):
    product_id: Annotated[str, Field(min_length=1, max_length=64)]
    variant_id: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    quantity: Annotated[int, Field(ge=1, le=MAX_LINE_QUANTITY)]


class FinishCheckoutRequest(_Strict):
    items: Annotated[list[OrderedLine], Field(max_length=MAX_CART_LINES)]


class CartItemOut(BaseModel):
    product_id: str
    variant_id: str | None = Field(description="The variant this line holds")
    sku: str | None
    option_values: dict[str, str]
    name: str
    price: Money
    quantity: int
    item_total: Money
    image_url: str | None
    available: bool = Field(
        description="False when the product is no longer sold or has fewer units in stock "
        "than this line holds; checkout would refuse the line."
    )


class CartOut(BaseModel):
    items: list[CartItemOut]
    total_items: int
    subtotal: Money
    updated_at: datetime | None
    cart_token: str | None = Field(
        default=None,
        description="Only in the answer that opened a guest cart (also the X-Cart-Token "
        "header): send it as X-Cart-Token on every later cart call, and at login.",
    )

    @classmethod
    def of(cls, cart: Cart, *, cart_token: str | None = None) -> CartOut:
        return cls(
            cart_token=cart_token,
            items=[
                CartItemOut(
                    product_id=item.product_id,
                    variant_id=item.variant_id,
                    sku=item.sku,
                    option_values=item.option_values,
                    name=item.name,
                    price=item.price,
                    quantity=item.quantity,
                    item_total=item.item_total,
                    image_url=item.image_url,
                    available=item.available,
                )
                for item in cart.items
            ],
            total_items=cart.total_items,
            subtotal=cart.subtotal,
            updated_at=cart.updated_at,
        )


class MergeCartRequest(_Strict):
    cart_token: Annotated[str, Field(min_length=1, max_length=200)]


class MergedLineOut(BaseModel):
    product_id: str
    variant_id: str | None = Field(
        description="the line's variant (null only for a line stored before variants)"
    )
    requested: int = Field(description="units the guest cart held")
    added: int = Field(description="units added to the account's cart")
    shortfall: Shortfall | None = Field(
        description="why fewer were added: stock, line_limit, cart_line_limit, unavailable"
    )


class CartMergeOut(BaseModel):
    outcome: MergeOutcome = Field(
        description="merged; invalid (unknown, expired or already merged token: nothing "
        "moved); unavailable (the cart service did not answer: the guest cart is kept)"
    )
    lines: list[MergedLineOut]

    @classmethod
    def of(cls, merge: CartMerge) -> CartMergeOut:
        return cls(
            outcome=merge.outcome,
            lines=[
                MergedLineOut(
                    product_id=line.product_id,
                    variant_id=line.variant_id,
                    requested=line.requested,
                    added=line.added,
                    shortfall=line.shortfall,
                )
                for line in merge.lines
            ],
        )

    def to_domain(self) -> CartMerge:
        from shopkit_server.cart.models import MergedLine

        return CartMerge(
            self.outcome,
            [
                MergedLine(x.product_id, x.variant_id, x.requested, x.added, x.shortfall)
                for x in self.lines
            ],
        )
